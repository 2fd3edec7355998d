/** SQL of the EventIndex object (schema.ts). */
import { applyMigrations } from '../shared/migrations';
import type { EventRoom } from './api';
import { MIGRATIONS } from './schema';

export class EventIndexStore {
  constructor(private readonly sql: SqlStorage) {}

  migrate(): void {
    applyMigrations(this.sql, MIGRATIONS);
  }

  record(entries: readonly EventRoom[]): void {
    for (const e of entries) this.sql.exec('INSERT OR IGNORE INTO event_rooms (event_id, room_id) VALUES (?, ?)', e.event_id, e.room_id);
  }

  roomOf(eventId: string): string | undefined {
    return this.sql.exec<{ room_id: string }>('SELECT room_id FROM event_rooms WHERE event_id = ?', eventId).toArray()[0]?.room_id;
  }
}
