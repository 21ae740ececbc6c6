// Answers the extension's input boxes, quick picks and messages in place of a person. The
// extension and this suite share one `vscode` API object (the host hands one per extension, and
// the suite lives inside the extension's folder), so replacing window methods here is what the
// extension's commands call. Only UI prompts are stubbed; every process is real.
import * as vscode from 'vscode';

type Win = { -readonly [K in keyof typeof vscode.window]: (typeof vscode.window)[K] };

export interface WindowStub {
  /** Queued answers for showInputBox, in order. */
  inputs: string[];
  /** Labels to pick in showQuickPick, in order (a single pick). */
  picks: string[];
  /** Every message shown (info, warning, error), in order. */
  messages: string[];
  restore(): void;
}

export function stubWindow(): WindowStub {
  const win = vscode.window as unknown as Win;
  const saved = { showInputBox: win.showInputBox, showQuickPick: win.showQuickPick, showInformationMessage: win.showInformationMessage, showWarningMessage: win.showWarningMessage, showErrorMessage: win.showErrorMessage };
  const stub: WindowStub = {
    inputs: [],
    picks: [],
    messages: [],
    restore: () => Object.assign(win, saved),
  };
  const message = (text: string) => {
    stub.messages.push(text);
    return Promise.resolve(undefined);
  };
  Object.assign(win, {
    showInputBox: () => Promise.resolve(stub.inputs.shift()),
    showQuickPick: async (items: readonly vscode.QuickPickItem[] | Thenable<readonly vscode.QuickPickItem[]>) => {
      const label = stub.picks.shift();
      return (await items).find((i) => i.label === label);
    },
    showInformationMessage: message,
    showWarningMessage: message,
    showErrorMessage: message,
  });
  return stub;
}
