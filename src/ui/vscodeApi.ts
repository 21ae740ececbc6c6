// The slice of the `vscode` module the ui/ classes use, passed in rather than imported so unit
// tests can hand them a fake (the real module exists only inside an extension host).
import type * as vscode from 'vscode';

export type TreeApi = Pick<typeof vscode, 'TreeItem' | 'ThemeIcon' | 'ThemeColor' | 'EventEmitter' | 'TreeItemCollapsibleState'>;

/** The window functions command handlers call (vscode.window satisfies it). */
export interface WindowApi {
  showInformationMessage(message: string, ...items: string[]): Thenable<string | undefined>;
  showWarningMessage(message: string, ...items: string[]): Thenable<string | undefined>;
  showErrorMessage(message: string, ...items: string[]): Thenable<string | undefined>;
  showInputBox(options?: vscode.InputBoxOptions): Thenable<string | undefined>;
  showQuickPick<T extends vscode.QuickPickItem>(items: readonly T[], options: vscode.QuickPickOptions & { canPickMany: true }): Thenable<T[] | undefined>;
  showQuickPick<T extends vscode.QuickPickItem>(items: readonly T[], options?: vscode.QuickPickOptions): Thenable<T | undefined>;
  withProgress<R>(
    options: vscode.ProgressOptions,
    task: (progress: vscode.Progress<{ message?: string; increment?: number }>, token: vscode.CancellationToken) => Thenable<R>,
  ): Thenable<R>;
}

/** ProgressLocation.Notification's value (an enum in vscode; a number here so tests need no vscode). */
export const PROGRESS_NOTIFICATION = 15;
