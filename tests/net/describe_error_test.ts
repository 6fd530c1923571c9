import net from "node:net";
import { assert, assertEquals } from "../assert.ts";
import {
  describeError,
  isLookupFailure,
  plainSystemText,
} from "../../lib/net/describe_error.ts";

/** The error a read fails with when the other side resets the connection. */
async function resetError(): Promise<unknown> {
  const server = net.createServer((socket) =>
    setTimeout(() => socket.resetAndDestroy(), 100)
  );
  await new Promise<void>((listening) =>
    server.listen(0, "127.0.0.1", listening)
  );
  const { port } = server.address() as net.AddressInfo;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new Uint8Array(8));
    await conn.read(new Uint8Array(8));
    throw new Error("The read did not fail");
  } catch (error) {
    return error;
  } finally {
    conn.close();
    server.close();
  }
}

Deno.test("describeError() puts a reset connection in plain words", async () => {
  const error = await resetError();
  // What the system says, which must not be shown as it is.
  assertEquals(
    (error as Error).message,
    "Connection reset by peer (os error 104)",
  );
  assertEquals(describeError(error), "the connection was reset");
});

Deno.test("describeError() words the system's socket errors plainly and leaves other messages as they are", () => {
  assertEquals(
    describeError(new Deno.errors.BrokenPipe("Broken pipe (os error 32)")),
    "the connection was closed",
  );
  assertEquals(
    describeError(
      new Deno.errors.ConnectionRefused("Connection refused (os error 111)"),
    ),
    "connection refused",
  );
  assertEquals(
    describeError(new Error("No route to host (os error 113)")),
    "no route to the host",
  );
  assertEquals(
    describeError(new Error("Something odd (os error 999)")),
    "something odd",
  );
  assertEquals(
    describeError(new Error("peer closed the connection")),
    "peer closed the connection",
  );
});

Deno.test("plainSystemText() puts the system's wording in plain words wherever it is in a sentence", () => {
  assertEquals(
    plainSystemText(
      "Cannot reach the relay at 10.0.0.5:5001: Connection reset by peer (os error 104). Is it running?",
    ),
    "Cannot reach the relay at 10.0.0.5:5001: the connection was reset. Is it running?",
  );
  assertEquals(
    plainSystemText(
      "An existing connection was forcibly closed by the remote host. (os error 10054)",
    ),
    "the connection was reset",
  );
  assertEquals(plainSystemText("nothing to change"), "nothing to change");
});

Deno.test("describeError() words a connection cut in the middle of a message, and a host name that cannot be looked up, without the protocol's or the system's words", async () => {
  assertEquals(
    describeError(
      new Deno.errors.UnexpectedEof("Connection closed inside a record"),
    ),
    "the connection was closed",
  );
  const lookup = await Deno.connect({ hostname: "nosuchhost.invalid", port: 1 })
    .then((conn) => {
      conn.close();
      throw new Error("nosuchhost.invalid was found");
    }, (error) => error);
  assertEquals(describeError(lookup), "the host name cannot be found");
  assert(isLookupFailure(lookup), String(lookup));
  assert(!isLookupFailure(new Deno.errors.ConnectionRefused("refused")));
});
