// Parameter checks for gateway methods: wrong types are -32602 with a message naming the field.
import { RpcError } from '../core/rpc';

export type Params = Record<string, unknown>;

export function objectParams(method: string, params: unknown): Params {
  if (params === undefined || params === null) return {};
  if (typeof params !== 'object' || Array.isArray(params)) throw RpcError.invalidParams(`${method}: params must be an object`);
  return params as Params;
}

export function requiredString(method: string, p: Params, name: string, maxLength = 256): string {
  const v = p[name];
  if (typeof v !== 'string' || v.length === 0) throw RpcError.invalidParams(`${method}: "${name}" must be a non-empty string`);
  if (v.length > maxLength) throw RpcError.invalidParams(`${method}: "${name}" is longer than ${maxLength} characters`);
  return v;
}

export function optionalString(method: string, p: Params, name: string, maxLength = 256): string | undefined {
  if (p[name] === undefined) return undefined;
  return requiredString(method, p, name, maxLength);
}

export function optionalBoolean(method: string, p: Params, name: string): boolean | undefined {
  const v = p[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw RpcError.invalidParams(`${method}: "${name}" must be a boolean`);
  return v;
}

export function optionalNonNegativeInt(method: string, p: Params, name: string, max: number): number | undefined {
  const v = p[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw RpcError.invalidParams(`${method}: "${name}" must be an integer from 0 to ${max}`);
  }
  return v;
}

export function requiredNonNegativeInt(method: string, p: Params, name: string, max: number): number {
  const v = optionalNonNegativeInt(method, p, name, max);
  if (v === undefined) throw RpcError.invalidParams(`${method}: "${name}" must be an integer from 0 to ${max}`);
  return v;
}

const MAX_PID = 2 ** 31 - 1;

/** A process named by its fingerprint, `pid` and `startTime` (both required). */
export function requiredFingerprint(method: string, p: Params): { pid: number; startTime: number } {
  return {
    pid: requiredNonNegativeInt(method, p, 'pid', MAX_PID),
    startTime: requiredNonNegativeInt(method, p, 'startTime', Number.MAX_SAFE_INTEGER),
  };
}

/** An optional fingerprint: `pid` and `startTime` together, or neither (a pid alone names no process for sure). */
export function optionalFingerprint(method: string, p: Params): { pid: number; startTime: number } | undefined {
  if (p.pid === undefined && p.startTime === undefined) return undefined;
  return requiredFingerprint(method, p);
}
