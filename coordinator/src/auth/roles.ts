// The four roles of the product. A user may hold several; each route says which it needs.

export const ROLES = ['admin', 'initiator', 'approver', 'signer'] as const;

export type Role = (typeof ROLES)[number];

export const isRole = (v: unknown): v is Role => typeof v === 'string' && (ROLES as readonly string[]).includes(v);

/** Roles without repeats, in the fixed order of ROLES, so equal sets are stored and compared as equal arrays. */
export const canonicalRoles = (roles: Iterable<Role>): Role[] => {
  const set = new Set(roles);
  return ROLES.filter((r) => set.has(r));
};

export const sameRoles = (a: Iterable<Role>, b: Iterable<Role>): boolean =>
  canonicalRoles(a).join(',') === canonicalRoles(b).join(',');
