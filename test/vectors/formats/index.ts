/** Every vector format the runner knows, in the order they are tried. */
import type { VectorFormat } from '../types';
import { format as canonicalJson } from './canonical-json';
import { format as eventAuth } from './event-auth';
import { format as redaction } from './redaction';
import { format as roomVersions } from './room-versions';
import { format as signingAndHashing } from './signing-and-hashing';

export const FORMATS: readonly VectorFormat[] = [canonicalJson, signingAndHashing, redaction, roomVersions, eventAuth];
