/** Previous depth, for bounding the recursion of ConfigPath. */
type Prev = [never, 0, 1, 2, 3, 4, 5, 6];

type IsPlainObject<T> = T extends readonly unknown[]
  ? false
  : T extends (...args: never[]) => unknown
    ? false
    : T extends object
      ? true
      : false;

/**
 * Every dotted path into a configuration's output type: `'limits'`, `'limits.timeoutMs'`, ...
 * Arrays and scalars are leaves; nesting is followed 6 levels deep.
 */
export type ConfigPath<T, D extends number = 6> = [D] extends [never]
  ? never
  : IsPlainObject<T> extends true
    ? {
        [K in keyof T & string]:
          | K
          | (IsPlainObject<NonNullable<T[K]>> extends true
              ? `${K}.${ConfigPath<NonNullable<T[K]>, Prev[D]>}`
              : never);
      }[keyof T & string]
    : never;

/** The type of the value at `P` in `T`. */
export type ConfigPathValue<T, P extends string> = P extends `${infer K}.${infer Rest}`
  ? K extends keyof T
    ? ConfigPathValue<NonNullable<T[K]>, Rest> | (undefined extends T[K] ? undefined : never)
    : never
  : P extends keyof T
    ? T[P]
    : never;
