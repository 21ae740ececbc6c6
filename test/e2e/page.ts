// The slice of playwright-core's API the stories use. playwright-core lives in .e2e/tools (never in
// the extension's dependencies), so its own types are not visible to tsc; this keeps the stories typed.
export interface WaitOptions {
  state?: 'attached' | 'detached' | 'visible' | 'hidden';
  timeout?: number;
}

/** The DOM element methods the stories call inside the page (tsconfig has no DOM lib). */
export interface DomElement {
  getAttribute(name: string): string | null;
  hasAttribute(name: string): boolean;
  querySelector(selector: string): { textContent: string | null } | null;
}

export interface Locator {
  click(opts?: { button?: 'left' | 'right'; timeout?: number; force?: boolean }): Promise<void>;
  fill(value: string, opts?: { timeout?: number }): Promise<void>;
  press(key: string, opts?: { timeout?: number }): Promise<void>;
  hover(opts?: { timeout?: number }): Promise<void>;
  textContent(opts?: { timeout?: number }): Promise<string | null>;
  innerText(opts?: { timeout?: number }): Promise<string>;
  getAttribute(name: string, opts?: { timeout?: number }): Promise<string | null>;
  isVisible(): Promise<boolean>;
  count(): Promise<number>;
  nth(i: number): Locator;
  first(): Locator;
  locator(selector: string, opts?: { hasText?: string | RegExp }): Locator;
  filter(opts: { hasText?: string | RegExp; has?: Locator }): Locator;
  waitFor(opts?: WaitOptions): Promise<void>;
  screenshot(opts: { path: string; timeout?: number }): Promise<Buffer>;
  boundingBox(): Promise<{ x: number; y: number; width: number; height: number } | null>;
  evaluateAll<R>(fn: (els: DomElement[]) => R): Promise<R>;
}

export interface Page {
  goto(url: string, opts?: { timeout?: number; waitUntil?: 'load' | 'domcontentloaded' }): Promise<unknown>;
  locator(selector: string, opts?: { hasText?: string | RegExp; has?: Locator }): Locator;
  keyboard: {
    press(key: string): Promise<void>;
    type(text: string, opts?: { delay?: number }): Promise<void>;
  };
  mouse: {
    move(x: number, y: number, opts?: { steps?: number }): Promise<void>;
    down(): Promise<void>;
    up(): Promise<void>;
  };
  screenshot(opts: { path: string; fullPage?: boolean }): Promise<Buffer>;
  url(): string;
}
