// A V8 .heapsnapshot file read for one question: which objects are there more of than in an
// earlier snapshot, and what holds one of them. Objects are grouped by node type and name (the
// constructor for objects, the function for closures; strings, numbers and code each in one group).
import * as fs from 'node:fs';

interface Raw {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface Group {
  count: number;
  bytes: number;
}

export class HeapSnapshot {
  private readonly raw: Raw;
  private readonly nodeWidth: number;
  private readonly edgeWidth: number;
  private readonly field: Record<'type' | 'name' | 'id' | 'self_size' | 'edge_count', number>;
  private readonly edgeField: Record<'type' | 'name_or_index' | 'to_node', number>;
  /** Index of each node's first edge in `edges`. */
  private readonly firstEdge: Uint32Array;
  private retainersOf?: { from: number; edge: string }[][];

  constructor(file: string) {
    this.raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Raw;
    const m = this.raw.snapshot.meta;
    this.nodeWidth = m.node_fields.length;
    this.edgeWidth = m.edge_fields.length;
    const at = (fields: string[], f: string) => {
      const i = fields.indexOf(f);
      if (i < 0) throw new Error(`${file}: no ${f} field in the snapshot's meta`);
      return i;
    };
    this.field = { type: at(m.node_fields, 'type'), name: at(m.node_fields, 'name'), id: at(m.node_fields, 'id'), self_size: at(m.node_fields, 'self_size'), edge_count: at(m.node_fields, 'edge_count') };
    this.edgeField = { type: at(m.edge_fields, 'type'), name_or_index: at(m.edge_fields, 'name_or_index'), to_node: at(m.edge_fields, 'to_node') };
    this.firstEdge = new Uint32Array(this.count + 1);
    for (let i = 0, e = 0; i < this.count; i++) {
      this.firstEdge[i] = e;
      e += this.value(i, 'edge_count') * this.edgeWidth;
    }
    this.firstEdge[this.count] = this.raw.edges.length;
  }

  get count(): number {
    return this.raw.nodes.length / this.nodeWidth;
  }

  private value(i: number, f: keyof HeapSnapshot['field']): number {
    return this.raw.nodes[i * this.nodeWidth + this.field[f]];
  }

  id(i: number): number {
    return this.value(i, 'id');
  }

  /** The group a node counts in: "type | name", with names that say nothing per object folded. */
  groupOf(i: number): string {
    const type = this.raw.snapshot.meta.node_types[0][this.value(i, 'type')];
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number' || type === 'code') return type;
    return `${type} | ${this.raw.strings[this.value(i, 'name')].slice(0, 80)}`;
  }

  groups(): Map<string, Group> {
    const out = new Map<string, Group>();
    for (let i = 0; i < this.count; i++) {
      const k = this.groupOf(i);
      const g = out.get(k) ?? { count: 0, bytes: 0 };
      g.count++;
      g.bytes += this.value(i, 'self_size');
      out.set(k, g);
    }
    return out;
  }

  /**
   * What holds node i: a chain of strong retainers up to `depth` steps (weak edges skipped,
   * a node not visited twice), each as "edge of holder".
   */
  retainerPath(i: number, depth = 8): string[] {
    this.retainersOf ??= this.buildRetainers();
    const out: string[] = [];
    const seen = new Set([i]);
    let cur = i;
    for (let d = 0; d < depth; d++) {
      const next = this.retainersOf[cur].find((r) => !seen.has(r.from));
      if (!next) break;
      out.push(`${next.edge} of ${this.groupOf(next.from)}`);
      seen.add(next.from);
      cur = next.from;
    }
    return out;
  }

  private buildRetainers(): { from: number; edge: string }[][] {
    const { edges, strings } = this.raw;
    const edgeTypes = this.raw.snapshot.meta.edge_types[0];
    const out: { from: number; edge: string }[][] = Array.from({ length: this.count }, () => []);
    for (let i = 0; i < this.count; i++) {
      for (let e = this.firstEdge[i]; e < this.firstEdge[i + 1]; e += this.edgeWidth) {
        const type = edgeTypes[edges[e + this.edgeField.type]];
        if (type === 'weak') continue;
        const n = edges[e + this.edgeField.name_or_index];
        const edge = type === 'element' || type === 'hidden' ? `[${n}]` : `${type === 'property' ? '' : `${type} `}${strings[n]}`;
        out[edges[e + this.edgeField.to_node] / this.nodeWidth].push({ from: i, edge });
      }
    }
    return out;
  }
}
