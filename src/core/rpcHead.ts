// Reads what a JSON-RPC message is from its first bytes alone: the message was too large to keep,
// but its top-level keys before the first structured value (`{"jsonrpc":"2.0","id":7,"result":…`)
// still say whose it was, so the receiver can answer or fail that one request instead of waiting.

import type { RpcId } from './rpcPeer';

export interface MessageHead {
  /** Present when the head shows the top-level `id` (absent: not seen, or not a valid id). */
  id?: RpcId;
  /** `request` once `method` or `params` is seen, `response` once `result` or `error` is. */
  kind?: 'request' | 'response';
}

const WS = /[ \t\r\n]*/y;
// Loose token shapes; JSON.parse has the last word on each.
const STRING = /"(?:[^"\\]|\\.)*"/y;
const PRIMITIVE = /"(?:[^"\\]|\\.)*"|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

function parseToken(token: string): unknown {
  try {
    return JSON.parse(token) as unknown;
  } catch {
    return undefined;
  }
}

/** What the head of a message shows; stops at the first value it cannot read whole. */
export function readMessageHead(head: string): MessageHead {
  const found: MessageHead = {};
  let at = 0;
  const skip = (re: RegExp): string | undefined => {
    re.lastIndex = at;
    const m = re.exec(head);
    if (!m) return undefined;
    at = re.lastIndex;
    return m[0];
  };
  skip(WS);
  if (head[at] !== '{') return found;
  at++;
  for (;;) {
    skip(WS);
    const keyToken = skip(STRING);
    if (keyToken === undefined) return found;
    skip(WS);
    if (head[at] !== ':') return found;
    at++;
    skip(WS);
    const key = parseToken(keyToken);
    if (typeof key !== 'string') return found;
    if (key === 'method' || key === 'params') found.kind = 'request';
    if (key === 'result' || key === 'error') found.kind = 'response';
    const value = skip(PRIMITIVE);
    // A structured value ends what can be read without parsing the whole message; so does a
    // value the head may have cut short (a number at its very end could have more digits).
    if (value === undefined || at >= head.length) return found;
    if (key === 'id') {
      const id = parseToken(value);
      if (id === null || typeof id === 'string' || typeof id === 'number') found.id = id;
    }
    skip(WS);
    if (head[at] !== ',') return found;
    at++;
  }
}
