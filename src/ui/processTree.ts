// TreeDataProvider for `gatewayWarden.processes`: turns TreeNode data into TreeItems. It owns its
// change emitter and an id → node map (for getParent/reveal); refreshes are coalesced.
//
// A row keeps its object across rebuilds (same id → same object, updated in place) and a rebuild
// refreshes only the rows that changed: VS Code forgets the handles of a refreshed row's whole
// subtree until the window has fetched each level again (one round trip per level), and a
// context-menu command run in that gap reaches us without its row. The tree is rebuilt every
// sampling tick (CPU, memory), so a whole-tree refresh each time kept that gap open most of the
// time; rows with children show ages to the minute for the same reason (ui/treeNodes.ts), and
// the row commands ask which item is meant when none came (ui/commands.ts).
import type * as vscode from 'vscode';
import { buildTree, TreeInput, TreeNode } from './treeNodes';
import { TreeApi } from './vscodeApi';

export class ProcessTreeProvider implements vscode.TreeDataProvider<TreeNode> {
  private readonly changed: vscode.EventEmitter<TreeNode | TreeNode[] | undefined | void>;
  readonly onDidChangeTreeData: vscode.Event<TreeNode | TreeNode[] | undefined | void>;
  private roots: TreeNode[] = [];
  private byId = new Map<string, TreeNode>();
  private pending: NodeJS.Timeout | undefined;
  private newParents: TreeNode[] = [];

  constructor(private readonly vs: TreeApi, private readonly input: () => TreeInput, private readonly coalesceMs = 50) {
    this.changed = new vs.EventEmitter<TreeNode | TreeNode[] | undefined | void>();
    this.onDidChangeTreeData = this.changed.event;
    this.rebuild();
  }

  /** Schedules a rebuild (many events in a burst → one refresh). */
  refresh(): void {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.refreshNow();
    }, this.coalesceMs);
  }

  refreshNow(): void {
    if (this.pending) clearTimeout(this.pending);
    this.pending = undefined;
    const changed = this.rebuild();
    if (changed === 'all') this.changed.fire();
    else if (changed.length) this.changed.fire(changed);
  }

  get nodes(): readonly TreeNode[] {
    return this.roots;
  }

  find(id: string): TreeNode | undefined {
    return this.byId.get(id);
  }

  /** Every row, in the order the view shows them (parents before their children). */
  rows(): TreeNode[] {
    const out: TreeNode[] = [];
    const walk = (ns: readonly TreeNode[]) => {
      for (const n of ns) {
        out.push(n);
        walk(n.children);
      }
    };
    walk(this.roots);
    return out;
  }

  getChildren(element?: TreeNode): TreeNode[] {
    return element ? (this.byId.get(element.id)?.children ?? []) : this.roots;
  }

  getParent(element: TreeNode): TreeNode | undefined {
    return element.parentId ? this.byId.get(element.parentId) : undefined;
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const { TreeItem, TreeItemCollapsibleState: C, ThemeIcon, ThemeColor } = this.vs;
    const state = node.collapsible === 'expanded' ? C.Expanded : node.collapsible === 'collapsed' ? C.Collapsed : C.None;
    const item = new TreeItem(node.label, state);
    item.id = node.id;
    item.description = node.description;
    item.tooltip = node.tooltip;
    item.contextValue = node.contextValue;
    item.iconPath = new ThemeIcon(node.icon, node.iconColor ? new ThemeColor(node.iconColor) : undefined);
    return item;
  }

  dispose(): void {
    if (this.pending) clearTimeout(this.pending);
    this.changed.dispose();
  }

  /**
   * Nodes that were leaves at the last rebuild and now have children. VS Code keeps the first
   * collapsible state it saw for an id, so such a node would show collapsed: the view reveals
   * their first child instead (WardenUi). Returns each only once.
   */
  takeNewParents(): TreeNode[] {
    const out = this.newParents;
    this.newParents = [];
    return out;
  }

  /**
   * Rebuilds from the input, reusing the object of every row that was there before, and returns
   * what VS Code must fetch again: 'all' when the top-level rows changed, else the rows whose own
   * look or list of children changed (a row's refresh re-fetches its children).
   */
  private rebuild(): 'all' | TreeNode[] {
    const before = this.byId;
    const fresh = buildTree(this.input());
    this.byId = new Map();
    const changed: TreeNode[] = [];
    const adopt = (ns: TreeNode[]): TreeNode[] =>
      ns.map((n) => {
        const was = before.get(n.id);
        const children = adopt(n.children);
        if (!was) {
          n.children = children;
          this.byId.set(n.id, n);
          return n;
        }
        if (was.collapsible === 'none' && n.collapsible !== 'none' && children.length) this.newParents.push(was);
        const sameChildren = sameIds(was.children, children);
        if (!sameLook(was, n) || !sameChildren) changed.push(was);
        // Same object, new contents: a field the new row lacks (a tooltip gone) must go too.
        for (const k of Object.keys(was) as (keyof TreeNode)[]) if (!(k in n)) delete was[k];
        Object.assign(was, n, { children });
        this.byId.set(was.id, was);
        return was;
      });
    const rootsBefore = this.roots;
    this.roots = adopt(fresh);
    if (!sameIds(rootsBefore, this.roots)) return 'all';
    // A changed row's refresh covers its subtree: no need to name its changed descendants too.
    const covered = new Set(changed.map((n) => n.id));
    return changed.filter((n) => !this.ancestors(n).some((a) => covered.has(a)));
  }

  private ancestors(n: TreeNode): string[] {
    const out: string[] = [];
    for (let p = n.parentId; p !== undefined; p = this.byId.get(p)?.parentId) out.push(p);
    return out;
  }
}

function sameIds(a: readonly TreeNode[], b: readonly TreeNode[]): boolean {
  return a.length === b.length && a.every((n, i) => n.id === b[i].id);
}

/** Whether a row looks the same (its children aside): every field, so a new one is never missed. */
function sameLook(a: TreeNode, b: TreeNode): boolean {
  const look = (n: TreeNode) => JSON.stringify({ ...n, children: undefined });
  return look(a) === look(b);
}
