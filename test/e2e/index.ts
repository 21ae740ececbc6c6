// The stories of the issue "Real VS Code, end to end", in order: they share one window, and
// later stories build on what earlier ones left (sessions, workers). scripts/e2e.mjs loads the
// bundle of this file and calls runStories.
import { failureContext } from './diagnostics';
import { smokeStory } from './smoke';
import type { E2eContext, Story } from './story';
import { commandStory } from './stories/command';
import { hermesStory } from './stories/hermes';
import { hostKillStory } from './stories/hostKill';
import { killWorkerStory } from './stories/killWorker';
import { missingGatewayStory } from './stories/missingGateway';
import { orphanStory } from './stories/orphan';
import { reloadStory } from './stories/reload';
import { reportStory } from './stories/report';
import { sessionsStory } from './stories/sessions';
import { viewStory } from './stories/view';

export const STORIES: readonly Story[] = [
  smokeStory, viewStory, sessionsStory, killWorkerStory, hostKillStory, orphanStory, reloadStory, missingGatewayStory,
  hermesStory, commandStory, reportStory,
];

export interface StoryResult {
  id: string;
  title: string;
  outcome: 'passed' | 'failed' | 'not run';
  ms: number;
  error?: string;
  screenshot?: string;
}

/**
 * Runs the stories in order. After the first failure the rest are reported "not run": they
 * depend on the window the failed one left behind. `only` (ids) narrows the run.
 */
export async function runStories(ctx: E2eContext, only?: string[]): Promise<StoryResult[]> {
  const results: StoryResult[] = [];
  let failed = false;
  for (const story of STORIES) {
    const base = { id: story.id, title: story.title, ms: 0 };
    if (only && !only.includes(story.id)) continue;
    if (failed) {
      results.push({ ...base, outcome: 'not run' });
      continue;
    }
    ctx.log(`\n--- story ${story.id}: ${story.title}`);
    const started = Date.now();
    try {
      await story.run(ctx);
      results.push({ ...base, outcome: 'passed', ms: Date.now() - started });
      ctx.log(`ok ${story.id} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (err) {
      failed = true;
      const screenshot = await ctx.screenshot(`failed-${story.id}`).catch(() => undefined);
      const context = await failureContext(ctx.page, ctx.userDataDir).catch((e: Error) => `(no context: ${e.message})`);
      const error = `${(err as Error)?.stack ?? String(err)}\n${context}`;
      results.push({ ...base, outcome: 'failed', ms: Date.now() - started, error, screenshot });
      ctx.log(`FAIL ${story.id}: ${error}`);
    }
  }
  return results;
}

export { waitForWorkbench } from './workbench';
// The harness removes the empty cgroup trees its run's gateways left (scripts/e2e.mjs).
export { removeEmptyDeadTrees } from '../../src/core/cgroup/emptyTrees';
