import type { Migration } from "../migration";
import { migration as m0001 } from "./0001-core-meta";
import { migration as m0002 } from "./0002-consultations";
import { migration as m0003 } from "./0003-security";
import { migration as m0004 } from "./0004-jobs";

/** Every migration, in order. A new one gets the next version and is appended here. */
export const MIGRATIONS: readonly Migration[] = [m0001, m0002, m0003, m0004];
