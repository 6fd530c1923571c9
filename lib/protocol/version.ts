/**
 * The product's version, in one place: `peer --version`, `tracker
 * --version`, the `version` field of `--json` output and the user agent a
 * peer names in its handshake all read it from here. The release workflow
 * checks that a release tag matches it.
 *
 * @module
 */

/** The version of `peer` and `tracker` (semantic versioning). */
export const VERSION = "0.11.0";

/** What a peer calls itself in its handshake, e.g. `p2p/0.10.0`. */
export const USER_AGENT = `p2p/${VERSION}`;
