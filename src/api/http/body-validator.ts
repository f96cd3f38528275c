/**
 * Request bodies are checked against TypeBox schemas, compiled with TypeBox's own compiler (strict: no
 * coercion, as Nova's jsonschema validation). Handlers whose schema depends on the microversion call checkBody.
 */
import type { FastifyInstance } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { badRequest } from './api-errors.js';

const cache = new WeakMap<TSchema, TypeCheck<TSchema>>();

function compiled(schema: TSchema): TypeCheck<TSchema> {
  let c = cache.get(schema);
  if (!c) {
    c = TypeCompiler.Compile(schema);
    cache.set(schema, c);
  }
  return c;
}

/** The first problem with `value`, worded like Nova's "Invalid input for field/attribute" messages; null if valid. */
export function firstProblem(schema: TSchema, value: unknown): string | null {
  const c = compiled(schema);
  if (c.Check(value)) return null;
  const e = c.Errors(value).First();
  if (!e) return 'Invalid input.';
  const field = e.path === '' ? 'body' : e.path.slice(1).replace(/\//g, '.');
  const shown = JSON.stringify(e.value)?.slice(0, 80) ?? 'undefined';
  return `Invalid input for field/attribute ${field}. Value: ${shown}. ${e.message}`;
}

/** Returns `value` typed as T, or throws Nova's 400. */
export function checkBody<T>(schema: TSchema, value: unknown): T {
  const problem = firstProblem(schema, value);
  if (problem !== null) throw badRequest(problem);
  return value as T;
}

export function installValidator(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema }) => (data: unknown) => {
    const problem = firstProblem(schema as TSchema, data);
    return problem === null ? { value: data } : { error: badRequest(problem) };
  });
}
