/**
 * The push gateway worker (Sygnal's role), a separate deployment: it will take
 * `POST /_matrix/push/v1/notify` and forward to APNs/FCM/WebPush. Nothing is routed yet, so
 * every path answers M_UNRECOGNIZED rather than pretending to deliver.
 */
import { createApp } from '../shared/app';

const app = createApp<{ Bindings: Record<string, never> }>();

export default app;
