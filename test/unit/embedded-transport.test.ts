import { EmbeddedTransport } from "../../streams/embedded/index.js";
import { silentLogger } from "../../streams/logger.js";
import { tempDir } from "./helpers/temp-dir.js";
import { transportContract } from "./transport-contract.js";

transportContract("embedded", async () => {
  const { dir, remove } = await tempDir("spikemesh-contract-");
  return { transport: new EmbeddedTransport({ dataDir: dir, logger: silentLogger() }), cleanup: remove };
});
