// Newline-delimited JSON-RPC 2.0 over a pair of byte streams (stdin/stdout of a child, a
// child's pipes). Framing: one JSON value per line, '\r\n' accepted, empty lines ignored,
// oversize lines answered with an error and discarded without closing the connection. The line
// limit holds both ways: nothing longer is sent either (see RpcPeerOptions.maxMessageBytes).
import { LineDecoder } from './lineDecoder';
import { JsonRpcPeer, RpcPeerOptions } from './rpcPeer';

export { RpcError, RpcErrorCode } from './rpcError';
export { idForLog, JsonRpcPeer } from './rpcPeer';

/** 1 MiB: ample for any command, small enough that garbage cannot exhaust memory. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

export interface JsonRpcConnectionOptions extends RpcPeerOptions {
  /** Longest line read; also the default for maxMessageBytes (longest line sent). */
  maxLineBytes?: number;
}

/** dispose() stops reading and rejects pending requests; the streams stay with their owner. */
export class JsonRpcConnection extends JsonRpcPeer {
  constructor(
    readable: NodeJS.ReadableStream,
    writable: NodeJS.WritableStream,
    opts: JsonRpcConnectionOptions = {},
  ) {
    const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    super((text) => {
      writable.write(text + '\n');
    }, { ...opts, maxMessageBytes: opts.maxMessageBytes ?? maxLineBytes });
    const decoder = new LineDecoder(maxLineBytes, {
      line: (text) => this.receive(text),
      oversize: (limit, head) => this.receiveOversize(limit, head),
    });
    const onData = (chunk: Buffer | string) => decoder.push(chunk);
    const onEnd = () => {
      decoder.end();
      this.handleClose('end of input');
    };
    const onReadClose = () => this.handleClose('input closed');
    const onReadError = (e: Error) => this.handleClose(`input error: ${e.message}`);
    const onWriteError = (e: Error) => this.handleClose(`output error: ${e.message}`);
    readable.on('data', onData);
    readable.on('end', onEnd);
    readable.on('close', onReadClose);
    readable.on('error', onReadError);
    writable.on('error', onWriteError);
    const detach = () => {
      readable.off('data', onData);
      readable.off('end', onEnd);
      readable.off('close', onReadClose);
      readable.off('error', onReadError);
      // The write-error listener stays: a late EPIPE on a closed pipe must not become uncaught.
    };
    this.onClose(detach);
  }
}
