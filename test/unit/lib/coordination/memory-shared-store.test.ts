import { MemorySharedStore } from "../../../../lib/coordination/memory-shared-store";
import { sharedStoreContract } from "../../../helpers/shared-store-contract";

sharedStoreContract("MemorySharedStore", async () => new MemorySharedStore());
