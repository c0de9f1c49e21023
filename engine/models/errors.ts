/** The error a model that cannot be used fails with. */
import { ErrorCode } from "../protocol/mod.ts";
import { EngineError } from "../protocol/errors.ts";

/**
 * A model that cannot be used: missing, truncated or not a model. The message
 * names the file, what is wrong with it and the fix; on the wire it is
 * ModelMissing.
 */
export class ModelMissingError extends EngineError {
  override name = "ModelMissingError";

  constructor(message: string) {
    super(ErrorCode.ModelMissing, message);
  }
}
