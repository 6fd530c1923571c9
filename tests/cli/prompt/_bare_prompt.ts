/**
 * The prompt as a caller other than `peer` runs it (the web page, a test):
 * `runPrompt` on stdin and stdout with only the options given, as JSON, in
 * its first argument, and the tracker `HOST:PORT` in its second; no `off`
 * unless given. Exits with the prompt's exit code.
 *
 * @module
 */

import { runPrompt } from "../../../lib/cli/prompt/prompt.ts";

const [options, tracker] = Deno.args;
const [host, port] = tracker.split(":");
Deno.exit(
  await runPrompt({
    tracker: { host, port: Number(port) },
    ...JSON.parse(options),
  }),
);
