import type { InvokeResult, TypedValue } from '@forgeone/execution';
import type { TypedValueJson } from '../contract/containerSchemas';
import { publicDetail } from '../problem';

/** A wire value as the kernel takes it: i64 text to bigint, base64 to bytes. */
export function fromWire(value: TypedValueJson): TypedValue {
  switch (value.type) {
    case 'i64':
      return { type: 'i64', value: BigInt(value.value) };
    case 'bytes':
      return { type: 'bytes', value: new Uint8Array(Buffer.from(value.value, 'base64')) };
    default:
      return value;
  }
}

/** A kernel value as the wire carries it. */
export function toWire(value: TypedValue): TypedValueJson {
  switch (value.type) {
    case 'i64':
      return { type: 'i64', value: value.value.toString() };
    case 'bytes':
      return { type: 'bytes', value: Buffer.from(value.value).toString('base64') };
    default:
      return value;
  }
}

/** An invoke's result on the wire: a trap keeps its code and a message without internals. */
export function invokeResultToWire(result: InvokeResult) {
  const { outcome } = result;
  return {
    outcome:
      outcome.status === 'trapped'
        ? {
            status: outcome.status,
            exitCode: null,
            code: outcome.error.code,
            message: publicDetail(outcome.error.message),
          }
        : { status: outcome.status, exitCode: outcome.exitCode },
    values: result.values.map(toWire),
    ...(result.fuelLeft === undefined ? {} : { fuelLeft: result.fuelLeft }),
  };
}
