// TreeDataProvider for `gatewayWarden.processes`: turns TreeNode data into TreeItems. It owns its
// change emitter and an id → node map (for getParent/reveal); refreshes are coalesced.
import type * as vscode from 'vscode';
import { buildTree, TreeInput, TreeNode } from './treeNodes';
import { TreeApi } from './vscodeApi';

export class ProcessTreeProvider implements vscode.TreeDataProvider<TreeNode> {
  private readonly changed: vscode.EventEmitter<TreeNode | undefined | void>;
  readonly onDidChangeTreeData: vscode.Event<TreeNode | undefined | void>;
  private roots: TreeNode[] = [];
  private byId = new Map<string, TreeNode>();
  private pending: NodeJS.Timeout | undefined;
  private newParents: TreeNode[] = [];

  constructor(private readonly vs: TreeApi, private readonly input: () => TreeInput, private readonly coalesceMs = 50) {
    this.changed = new vs.EventEmitter<TreeNode | undefined | void>();
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
    this.rebuild();
    this.changed.fire();
  }

  get nodes(): readonly TreeNode[] {
    return this.roots;
  }

  find(id: string): TreeNode | undefined {
    return this.byId.get(id);
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

  private rebuild(): void {
    const before = this.byId;
    this.roots = buildTree(this.input());
    this.byId = new Map();
    const walk = (ns: TreeNode[]) => {
      for (const n of ns) {
        this.byId.set(n.id, n);
        walk(n.children);
      }
    };
    walk(this.roots);
    for (const n of this.byId.values()) {
      const was = before.get(n.id);
      if (was && was.collapsible === 'none' && n.collapsible !== 'none' && n.children.length) this.newParents.push(n);
    }
  }
}
