// An argv as one readable line, for logs and error messages only (never executed): arguments
// that are not plain words are JSON-quoted.
export function displayArgv(command: string, args: readonly string[]): string {
  return [command, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}
