// Integration tests that cannot pass until a feature lands on main. Each is reported as PENDING
// with its reason (visible in every run); remove the entry when the feature lands.
export const PENDING: Readonly<Record<string, string>> = {
};

/** `it`, or a visible pending test when `title` is in PENDING. */
export function itLanded(title: string, fn: Mocha.AsyncFunc | Mocha.Func): void {
  const why = PENDING[title];
  if (why) it(`${title} [pending: ${why}]`);
  else it(title, fn);
}
