// A fake of the thin vscode seam (TreeApi, WindowApi): real enough for the ui/ classes, with
// scripted answers and a record of what was shown.
import type { TreeApi, WindowApi } from '../../src/ui/vscodeApi';

class FakeEventEmitter<T> {
  private listeners: ((e: T) => void)[] = [];
  fired = 0;
  event = (l: (e: T) => void) => {
    this.listeners.push(l);
    return { dispose: () => (this.listeners = this.listeners.filter((x) => x !== l)) };
  };
  fire(e: T): void {
    this.fired++;
    for (const l of [...this.listeners]) l(e);
  }
  dispose(): void {
    this.listeners = [];
  }
}

class FakeTreeItem {
  id?: string;
  description?: string;
  tooltip?: string;
  contextValue?: string;
  iconPath?: unknown;
  constructor(public label: string, public collapsibleState: number) {}
}

class FakeThemeIcon {
  constructor(public id: string, public color?: unknown) {}
}

class FakeThemeColor {
  constructor(public id: string) {}
}

export const fakeTreeApi = {
  EventEmitter: FakeEventEmitter,
  TreeItem: FakeTreeItem,
  ThemeIcon: FakeThemeIcon,
  ThemeColor: FakeThemeColor,
  TreeItemCollapsibleState: { None: 0, Collapsed: 1, Expanded: 2 },
} as unknown as TreeApi;

export interface Shown {
  kind: 'info' | 'warning' | 'error' | 'input' | 'pick' | 'progress';
  message: string;
  items?: unknown;
  /** A pick's title. */
  title?: string;
}

type AnswerKind = 'info' | 'warning' | 'error' | 'input' | 'pick';

/** A window whose answers come from `answers` (in order, per kind); records everything shown. */
export function fakeWindow(answers: Partial<Record<AnswerKind, unknown[]>> = {}) {
  const shown: Shown[] = [];
  const next = (kind: AnswerKind) => (answers[kind]?.length ? answers[kind]!.shift() : undefined);
  let cancelProgress = false;
  const window = {
    shown,
    cancelNextProgress: () => {
      cancelProgress = true;
    },
    showInformationMessage: async (message: string, ...items: string[]) => {
      shown.push({ kind: 'info', message, items });
      return next('info') as string | undefined;
    },
    showWarningMessage: async (message: string, ...items: string[]) => {
      shown.push({ kind: 'warning', message, items });
      return next('warning') as string | undefined;
    },
    showErrorMessage: async (message: string, ...items: string[]) => {
      shown.push({ kind: 'error', message, items });
      return next('error') as string | undefined;
    },
    showInputBox: async (options?: { prompt?: string; validateInput?: (v: string) => unknown }) => {
      const a = next('input') as string | undefined;
      shown.push({ kind: 'input', message: options?.prompt ?? '', items: a !== undefined ? options?.validateInput?.(a) : undefined });
      return a;
    },
    showQuickPick: (async (items: readonly unknown[], options?: { canPickMany?: boolean; placeHolder?: string; title?: string }) => {
      shown.push({ kind: 'pick', message: options?.placeHolder ?? '', items, title: options?.title });
      const a = next('pick');
      if (typeof a === 'function') return a(items);
      return a;
    }) as WindowApi['showQuickPick'],
    withProgress: (async (options: { title?: string }, task: (p: unknown, token: unknown) => Promise<unknown>) => {
      const reports: unknown[] = [];
      shown.push({ kind: 'progress', message: options.title ?? '', items: reports });
      const cancelled = cancelProgress;
      cancelProgress = false;
      const token = {
        isCancellationRequested: cancelled,
        onCancellationRequested: (l: () => void) => {
          if (cancelled) l();
          return { dispose: () => undefined };
        },
      };
      return task({ report: (v: unknown) => reports.push(v) }, token);
    }) as WindowApi['withProgress'],
  };
  return window as WindowApi & { shown: Shown[]; cancelNextProgress(): void };
}
