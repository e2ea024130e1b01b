import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { IS_PUBLIC, ROLES, UserRole } from '../../src/platform/http/access.decorators';
import { TestApp } from './test-app';

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  schema?: SchemaObject;
}

export interface SchemaObject {
  $ref?: string;
  type?: string;
  properties?: Record<string, SchemaObject>;
  items?: SchemaObject;
  enum?: unknown[];
}

export interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI template, e.g. `/api/v1/orders/{id}`. */
  path: string;
  parameters: OpenApiParameter[];
  /** The JSON body's schema with `$ref`s resolved one level deep per property, when the route takes one. */
  body?: SchemaObject;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, { parameters?: OpenApiParameter[]; requestBody?: unknown }>>;
  components: { schemas: Record<string, SchemaObject> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** Every path + method the running application documents at /api/docs-json. */
export async function documentedOperations(sut: TestApp): Promise<Operation[]> {
  const doc = (await sut.http().get('/api/docs-json').expect(200)).body as OpenApiDocument;
  const resolve = (schema: SchemaObject | undefined): SchemaObject | undefined =>
    schema?.$ref ? doc.components.schemas[schema.$ref.split('/').pop()!] : schema;
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) {
        continue;
      }
      const content = (op.requestBody as { content?: Record<string, { schema?: SchemaObject }> } | undefined)
        ?.content;
      operations.push({
        method,
        path,
        parameters: op.parameters ?? [],
        body: resolve(content?.['application/json']?.schema),
      });
    }
  }
  return operations;
}

export interface RouteAccess {
  method: Operation['method'];
  path: string;
  isPublic: boolean;
  /** The roles `@Roles()` restricts the handler to; undefined = any authenticated user. */
  roles: UserRole[] | undefined;
}

/**
 * Who may call each route, read from the handlers' own metadata (the guard's source of truth), keyed
 * like the OpenAPI document (`get /api/v1/orders/{id}`).
 */
export function routeAccess(sut: TestApp, prefix = '/api/v1'): Map<string, RouteAccess> {
  const routes = new Map<string, RouteAccess>();
  for (const module of sut.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: unknown[]) => object) | undefined;
      if (!controller?.prototype) {
        continue;
      }
      const base = (Reflect.getMetadata(PATH_METADATA, controller) as string | undefined) ?? '';
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[name];
        if (name === 'constructor' || typeof handler !== 'function') {
          continue;
        }
        const requestMethod = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        const sub = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
        if (requestMethod === undefined || sub === undefined) {
          continue;
        }
        const method = RequestMethod[requestMethod].toLowerCase() as Operation['method'];
        const joined = [base, sub]
          .flatMap((part) => part.split('/'))
          .filter(Boolean)
          .map((segment) => (segment.startsWith(':') ? `{${segment.slice(1)}}` : segment))
          .join('/');
        const path = `${prefix}/${joined}`;
        const meta = <T>(key: string): T | undefined =>
          (Reflect.getMetadata(key, handler) as T | undefined) ??
          (Reflect.getMetadata(key, controller) as T | undefined);
        routes.set(`${method} ${path}`, {
          method,
          path,
          isPublic: meta<boolean>(IS_PUBLIC) ?? false,
          roles: meta<UserRole[]>(ROLES),
        });
      }
    }
  }
  return routes;
}
