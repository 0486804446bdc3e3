import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { FramewatchError } from '../errors/index.js';

/** Conservative headers on every answer; no X-Powered-By (disabled in app.ts). */
export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('Content-Security-Policy', "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self'; frame-ancestors 'none'");
  next();
};

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time comparison: both sides are hashed first, so lengths never leak either. */
export const tokensEqual = (given: string, expected: string): boolean => timingSafeEqual(digest(given), digest(expected));

/**
 * Bearer-token auth. With no token configured the routes stay open. A missing or wrong
 * token is 401 UNAUTHORIZED with WWW-Authenticate.
 */
export function requireToken(token: string | undefined, realm: string): RequestHandler {
  return (req, res, next) => {
    if (!token) return next();
    const header = req.headers.authorization ?? '';
    const given = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? '';
    if (given && tokensEqual(given, token)) return next();
    res.setHeader('WWW-Authenticate', `Bearer realm="${realm}"`);
    next(new FramewatchError('UNAUTHORIZED', given ? 'the bearer token is not valid' : 'a bearer token is required (Authorization: Bearer <token>)'));
  };
}

/** The admin routes (model management, the queue dashboard): closed with 401 when no admin token is set. */
export function requireAdminToken(token: string | undefined): RequestHandler {
  if (token) return requireToken(token, 'admin');
  return (_req, _res, next) => next(new FramewatchError('UNAUTHORIZED', 'admin routes are disabled: set FRAMEWATCH_ADMIN_TOKEN'));
}
