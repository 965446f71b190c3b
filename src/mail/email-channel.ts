/**
 * The e-mail channel as one part of the app: the relay mailer, the outcome
 * notifier (on when a relay is configured: without one there is nobody to
 * send to, and reading each ended order for it would be wasted) and the SMTP intake
 * (on when a port is configured).
 */
import type { Config } from '../config';
import type { Logger } from '../log';
import type { WorkOrders } from '../workorders/api';
import { MailIntake, type SenderDirectory } from './intake';
import { Mailer } from './mailer';
import { MailNotifier } from './notifier';

export class EmailChannel {
  readonly mailer: Mailer;
  readonly notifier: MailNotifier;
  /** Null when PROVISOR_SMTP_PORT is not set. */
  readonly intake: MailIntake | null;

  constructor(config: Config['mail'], limits: Config['outbound'], workOrders: WorkOrders, senders: SenderDirectory, logger: Logger) {
    this.mailer = new Mailer({ relayUrl: config.relayUrl, from: config.from, attempts: config.sendAttempts, backoffMs: config.sendBackoffMs }, logger.child({ component: 'mail' }));
    this.notifier = new MailNotifier(this.mailer, logger.child({ component: 'mail-notifier' }));
    if (config.relayUrl === undefined) logger.info('no mail relay (PROVISOR_MAIL_RELAY): customers are not told by e-mail when their orders end');
    else this.notifier.subscribe(workOrders);
    this.intake =
      config.smtpPort === null
        ? null
        : new MailIntake(
            {
              host: config.smtpHost,
              port: config.smtpPort,
              addresses: config.intakeAddresses,
              maxMessageBytes: config.maxMessageBytes,
              limits: {
                maxConnections: limits.smtpMaxConnections,
                maxConnectionsPerAddress: limits.smtpMaxConnectionsPerAddress,
                maxSessionMs: limits.smtpMaxSessionMs,
                idleTimeoutMs: limits.smtpIdleTimeoutMs,
              },
            },
            workOrders,
            senders,
            this.mailer,
            logger.child({ component: 'smtp-intake' }),
          );
  }

  /** Starts the SMTP intake, if configured. */
  async start(): Promise<void> {
    await this.intake?.listen();
  }

  /** Stops taking mail in; see closeOutgoing for the rest. */
  async stopIntake(): Promise<void> {
    await this.intake?.close();
  }

  /** Lets mails under way finish, drops the ones waiting for a retry. */
  async closeOutgoing(): Promise<void> {
    await this.mailer.close();
  }
}
