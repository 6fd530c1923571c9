/**
 * Whether a file or socket call was refused for want of permission: by the
 * system (`PermissionDenied`) or by Deno itself (`NotCapable`: some paths,
 * such as `/proc` and `/sys`, only programs run with every permission may
 * touch).
 *
 * @module
 */

/** True when `error` is a refusal for want of permission, the system's or Deno's. */
export function isDenied(
  error: unknown,
): error is Deno.errors.PermissionDenied | Deno.errors.NotCapable {
  return error instanceof Deno.errors.PermissionDenied ||
    error instanceof Deno.errors.NotCapable;
}
