// How a failure is worded for the user.

/** An error's message, for showing to the user. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
