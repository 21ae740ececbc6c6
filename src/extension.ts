// activate/deactivate: wiring only.
export function activate(): void {
  // Wired up by the extension issue (host + ui).
}

export function deactivate(): void {
  // Wired up by the extension issue.
}
