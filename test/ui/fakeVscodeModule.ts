// A fake of the parts of the `vscode` module WardenUi uses (window, commands, tree and status
// bar classes), recording notifications and executed commands, with scripted answers.
import { fakeTreeApi } from './fakeVscode';

export interface Notification {
  kind: 'info' | 'warning' | 'error';
  message: string;
  items: string[];
}

export function fakeVscodeModule(answer: (n: Notification) => string | undefined = () => undefined) {
  const notifications: Notification[] = [];
  const executed: { id: string; args: unknown[] }[] = [];
  const registered = new Map<string, (...a: unknown[]) => unknown>();
  const context = new Map<string, unknown>();
  const visibility: ((e: { visible: boolean }) => void)[] = [];
  const view = { visible: false, reveal: async () => undefined, onDidChangeVisibility: (l: (e: { visible: boolean }) => void) => (visibility.push(l), { dispose: () => undefined }), dispose: () => undefined };
  const status = { text: '', tooltip: '', name: '', command: '', shown: false, show() { this.shown = true; }, dispose: () => undefined };
  const notify = (kind: Notification['kind']) => async (message: string, ...items: string[]) => {
    const n = { kind, message, items };
    notifications.push(n);
    return answer(n);
  };
  // Untitled documents opened and shown, and the clipboard (Copy Diagnostics Report).
  const documents: { language?: string; content?: string; shown: boolean }[] = [];
  const clipboard = { text: '', fail: undefined as Error | undefined };
  const workspace = {
    failOpen: undefined as Error | undefined,
    openTextDocument: async (o: { language?: string; content?: string }) => {
      if (workspace.failOpen) throw workspace.failOpen;
      const doc = { ...o, shown: false };
      documents.push(doc);
      return doc;
    },
  };
  const vs = {
    ...(fakeTreeApi as object),
    version: '1.99.0-fake',
    env: {
      appName: 'Fake Code',
      appHost: 'desktop',
      remoteName: undefined as string | undefined,
      clipboard: {
        writeText: async (text: string) => {
          if (clipboard.fail) throw clipboard.fail;
          clipboard.text = text;
        },
      },
    },
    workspace,
    StatusBarAlignment: { Left: 1, Right: 2 },
    window: {
      showTextDocument: async (doc: { shown: boolean }) => {
        doc.shown = true;
        return doc;
      },
      createTreeView: () => view,
      createStatusBarItem: () => status,
      showInformationMessage: notify('info'),
      showWarningMessage: notify('warning'),
      showErrorMessage: notify('error'),
      showInputBox: async (): Promise<string | undefined> => undefined,
      showQuickPick: async () => undefined,
      withProgress: async (_o: unknown, task: (p: unknown, t: unknown) => unknown) => task({ report: () => undefined }, { isCancellationRequested: false, onCancellationRequested: () => ({ dispose: () => undefined }) }),
    },
    commands: {
      registerCommand: (id: string, fn: (...a: unknown[]) => unknown) => {
        registered.set(id, fn);
        return { dispose: () => registered.delete(id) };
      },
      executeCommand: async (id: string, ...args: unknown[]) => {
        if (id === 'setContext') context.set(args[0] as string, args[1]);
        else executed.push({ id, args });
        return registered.get(id)?.(...args);
      },
    },
  };
  const setVisible = (v: boolean) => {
    view.visible = v;
    for (const l of visibility) l({ visible: v });
  };
  return { vs, notifications, executed, registered, context, status, setVisible, documents, clipboard };
}
