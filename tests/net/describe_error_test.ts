import net from "node:net";
import { assertEquals } from "../assert.ts";
import {
  describeError,
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
