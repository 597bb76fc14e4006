import type { CommandStartedEvent, Document, MongoClient } from "mongodb";

/** A read a service sent: the collection, and the filter, sort and limit of a find, update or delete. */
export interface RecordedRead {
  db: string;
  collection: string;
  filter: Document;
  sort?: Document;
  limit?: number;
}

/** The plan of a read, and whether an index or an `_id` key range serves it. */
export interface ReadPlan {
  read: RecordedRead;
  usesIndex: boolean;
  plan: unknown;
}

/**
 * Records the reads (finds, and the filters of updates, deletes and findAndModify) a block of service
 * code sends through `client`, which must have been created with `monitorCommands: true`.
 */
export async function recordReads(
  client: MongoClient,
  block: () => Promise<unknown>,
): Promise<RecordedRead[]> {
  const reads: RecordedRead[] = [];
  const listener = (event: CommandStartedEvent) => {
    const c = event.command;
    const db = event.databaseName;
    switch (event.commandName) {
      case "find":
        reads.push({ db, collection: c.find, filter: c.filter ?? {}, sort: c.sort, limit: c.limit });
        break;
      case "findAndModify":
        reads.push({ db, collection: c.findAndModify, filter: c.query ?? {}, sort: c.sort });
        break;
      case "update":
        for (const u of c.updates ?? []) reads.push({ db, collection: c.update, filter: u.q });
        break;
      case "delete":
        for (const d of c.deletes ?? []) reads.push({ db, collection: c.delete, filter: d.q });
        break;
    }
  };
  client.on("commandStarted", listener);
  try {
    await block();
  } finally {
    client.off("commandStarted", listener);
  }
  return reads;
}

/**
 * Explains a read as a find and tells whether an index serves it. On MongoDB: a winning plan without a
 * COLLSCAN stage. On the embedded server (see docs/storage.md), whose `queryPlanner.Plan` lists SQL plan
 * steps: a step searches an index or the primary key and none scans a table.
 */
export async function explainRead(client: MongoClient, read: RecordedRead): Promise<ReadPlan> {
  const explained = await client.db(read.db).command({
    explain: {
      find: read.collection,
      filter: read.filter,
      ...(read.sort ? { sort: read.sort } : {}),
      ...(read.limit ? { limit: read.limit } : {}),
    },
    verbosity: "queryPlanner",
  });
  const planner = explained.queryPlanner as Document;
  const sqlitePlan = planner?.Plan as string[] | undefined;
  if (Array.isArray(sqlitePlan)) {
    const details = sqlitePlan.map((row) => row.replace(/^.*detail=/, ""));
    const usesIndex =
      details.some((d) => /^SEARCH .* USING (INDEX|PRIMARY KEY|INTEGER PRIMARY KEY)/.test(d)) &&
      !details.some((d) => /^SCAN /.test(d));
    return { read, usesIndex, plan: details };
  }
  const winning = planner?.winningPlan === undefined ? "COLLSCAN?" : JSON.stringify(planner.winningPlan);
  return { read, usesIndex: !winning.includes("COLLSCAN"), plan: planner?.winningPlan ?? planner };
}
