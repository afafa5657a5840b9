import { Logger } from '@aws-lambda-powertools/logger';
import type { LogItemExtraInput, LogItemMessage, LogLevel } from '@aws-lambda-powertools/logger/types';

/** Powertools' threshold for INFO (LogLevelThreshold in @aws-lambda-powertools/logger's constants: DEBUG 8, INFO 12). */
const INFO_THRESHOLD = 12;

/**
 * Powertools' Logger, with info lines dropped at once when the level is above INFO. Powertools reads the X-Ray trace
 * id from the environment for every call, printed or not (for log buffering, which rootwatch does not enable): replay
 * sets WARN and would otherwise pay that for each of its alerts' info lines.
 */
class QuietLogger extends Logger {
  /** The level pinned by pinLogLevel (Powertools' number), or undefined: then read for every info line. */
  private pinned: number | undefined;

  /**
   * Sets the level for a process that serves no Lambda invocation (the CLI's replay), where it cannot differ from one
   * invocation to the next: info lines then test it without asking Powertools, whose `level` looks up the current
   * invocation's scope for each call (about 7 µs: a replay's thousands of alerts paid 20 ms). A later setLogLevel
   * call unpins it.
   */
  public pinLogLevel(level: LogLevel): void {
    this.setLogLevel(level);
    this.pinned = this.level;
  }

  public override setLogLevel(level: LogLevel): void {
    this.pinned = undefined;
    super.setLogLevel(level);
  }

  public override info(input: LogItemMessage, ...extraInput: LogItemExtraInput): void {
    if ((this.pinned ?? this.level) <= INFO_THRESHOLD) super.info(input, ...extraInput);
  }
}

/**
 * The one logger: structured JSON on stdout (CloudWatch in Lambda). Never log a webhook URL, a whole
 * SDK/HTTP error object (they carry request URLs) or an alert's raw record at info level.
 */
const logger: QuietLogger = new QuietLogger({
  serviceName: 'rootwatch',
  logLevel: (process.env.POWERTOOLS_LOG_LEVEL as 'INFO' | undefined) ?? (process.env.VITEST ? 'SILENT' : 'INFO'),
});

export { logger };
