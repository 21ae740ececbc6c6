// Progress for work that is usually quick: the notification appears only once the work has
// taken longer than a delay. A progress toast that flashes for 100 ms is noise — and VS Code
// shows at most three new toasts per 800 ms (spam protection), so a flashed progress toast can
// push the result's own toast into the notification centre, where nobody sees it.
import { PROGRESS_NOTIFICATION, WindowApi } from './vscodeApi';

export const PROGRESS_DELAY_MS = 700;

export async function withDelayedProgress<T>(
  window: Pick<WindowApi, 'withProgress'>,
  title: string,
  work: Promise<T>,
  delayMs = PROGRESS_DELAY_MS,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const slow = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), delayMs);
  });
  const isSlow = await Promise.race([work.then(() => false, () => false), slow]);
  clearTimeout(timer);
  if (!isSlow) return work;
  return window.withProgress({ location: PROGRESS_NOTIFICATION, title }, () => work);
}
