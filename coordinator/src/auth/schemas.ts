// The JSON schemas of the auth and user routes: every field named, typed and capped; anything
// else in a body is refused (additionalProperties: false) rather than silently ignored.

import { ROLES } from './roles.ts';
import { MAX_PASSWORD_LENGTH } from './passwords.ts';

/** Letters, digits and . _ @ -, starting with a letter or digit: safe in logs, URLs and audit entries. */
export const USERNAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$';
export const isValidUsername = (s: string): boolean => new RegExp(USERNAME_PATTERN).test(s);

export const usernameSchema = { type: 'string', minLength: 3, maxLength: 64, pattern: USERNAME_PATTERN } as const;
export const passwordSchema = { type: 'string', minLength: 1, maxLength: MAX_PASSWORD_LENGTH } as const;
export const rolesSchema = {
  type: 'array',
  items: { type: 'string', enum: [...ROLES] },
  uniqueItems: true,
  maxItems: ROLES.length,
} as const;

/** `:id` of a user or device (UUIDs). */
export const idParamsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' } },
} as const;

export const loginBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'password'],
  properties: { username: usernameSchema, password: passwordSchema },
} as const;

export const createUserBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['username', 'password', 'roles'],
  properties: { username: usernameSchema, password: passwordSchema, roles: rolesSchema },
} as const;

export const updateUserBodySchema = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { roles: rolesSchema, disabled: { type: 'boolean' } },
} as const;
