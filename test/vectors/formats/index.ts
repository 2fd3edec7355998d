/** Every vector format the runner knows, in the order they are tried. */
import type { VectorFormat } from '../types';
import { format as canonicalJson } from './canonical-json';
import { format as eventAuth } from './event-auth';
import { format as redaction } from './redaction';
import { format as roomVersions } from './room-versions';
import { format as signingAndHashing } from './signing-and-hashing';
import { format as stateResolution } from './state-resolution';

export const FORMATS: readonly VectorFormat[] = [canonicalJson, signingAndHashing, redaction, roomVersions, eventAuth, stateResolution];
