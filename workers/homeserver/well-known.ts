/**
 * Server discovery (spec: Server-Server API "Resolving server names", Client-Server API
 * "Server Discovery"). Both answers come from configuration.
 */
import { Hono } from 'hono';
import type { HomeserverEnv } from './env';

export const wellKnown = new Hono<HomeserverEnv>()
  .get('/server', (c) => c.json({ 'm.server': c.var.config.federationServer }))
  .get('/client', (c) => c.json({ 'm.homeserver': { base_url: c.var.config.publicBaseUrl } }));
