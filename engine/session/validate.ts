/** Checks of request parameters; each failure names the field and what was expected. */
import { ErrorCode, type Position } from "../protocol/mod.ts";
import { EngineError } from "../protocol/errors.ts";

function invalid(message: string): EngineError {
  return new EngineError(ErrorCode.InvalidParams, `Invalid params: ${message}`);
}

/**
 * The params object itself. An array is refused: the protocol names every
 * field, and vscode-jsonrpc would spread an array into a per-method
 * handler's arguments, the cancellation token among them.
 */
export function paramsObject(params: unknown): Record<string, unknown> {
  if (typeof params !== "object" || params === null || Array.isArray(params)) {
    throw invalid("expected an object");
  }
  return params as Record<string, unknown>;
}

/**
 * The params of a method that takes none (`status`, `index/rebuild`,
 * `shutdown`): absent, or an object whose fields are ignored; an array is
 * refused as everywhere else.
 */
export function optionalParamsObject(params: unknown): Record<string, unknown> {
  return params === undefined ? {} : paramsObject(params);
}

/** A required string field. */
export function requiredString(params: Record<string, unknown>, field: string): string {
  const value = params[field];
  if (typeof value !== "string" || value === "") {
    throw invalid(`"${field}" must be a non-empty string`);
  }
  return value;
}

/** An optional string field. */
export function optionalString(params: Record<string, unknown>, field: string): string | undefined {
  const value = params[field];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw invalid(`"${field}" must be a string`);
  return value;
}

/** An optional non-negative integer field. */
export function optionalCount(params: Record<string, unknown>, field: string): number | undefined {
  const value = params[field];
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || (value as number) < 0) {
    throw invalid(`"${field}" must be a non-negative integer`);
  }
  return value as number;
}

/** A required `{line, character}` field. */
export function requiredPosition(params: Record<string, unknown>, field: string): Position {
  const value = params[field];
  if (typeof value !== "object" || value === null) {
    throw invalid(`"${field}" must be {line, character}`);
  }
  const { line, character } = value as Record<string, unknown>;
  if (
    !Number.isInteger(line) || !Number.isInteger(character) || (line as number) < 0 ||
    (character as number) < 0
  ) {
    throw invalid(`"${field}" must be {line, character} with non-negative integers`);
  }
  return { line: line as number, character: character as number };
}

/** One of a fixed set of strings. */
export function requiredChoice<T extends string>(
  params: Record<string, unknown>,
  field: string,
  choices: readonly T[],
): T {
  const value = params[field];
  if (typeof value !== "string" || !choices.includes(value as T)) {
    throw invalid(`"${field}" must be one of ${choices.join(", ")}`);
  }
  return value as T;
}
