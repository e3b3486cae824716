import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { IncidentSeverity, INCIDENT_SEVERITIES, responseTime, SEVERITY_LEVELS } from "./severity";

/**
 * AWS Systems Manager Incident Manager is closed to new accounts: "AWS Systems Manager Incident Manager is
 * no longer open to new customers. Existing customers can continue to use the service as normal"
 * (Incident Manager user guide and API reference, banner on every page, "AWS Systems Manager Incident
 * Manager availability change", https://docs.aws.amazon.com/incident-manager/latest/userguide/incident-manager-availability-change.html;
 * a version of the banner reads "will no longer be open to new customers starting November 7, 2025").
 * So it is opt-in (config `incidentManager: enabled`), for accounts already onboarded (which have their
 * replication set); by default alerts go by SNS only (components/notifications.ts).
 */
export const INCIDENT_MANAGER_AVAILABILITY =
    "Incident Manager is no longer open to new customers (AWS, Incident Manager availability change, since 2025-11-07): enable it only on an account already onboarded";

/** The severities Incident Manager engages (their channels include it): P1 and P2. */
export const ENGAGED_SEVERITIES: IncidentSeverity[] = INCIDENT_SEVERITIES.filter((s) => SEVERITY_LEVELS[s].channels.includes("incident-manager"));

/**
 * The longest stage of an escalation plan: SSM Contacts API Reference, Stage: DurationInMinutes "Valid
 * Range: Minimum value of 0. Maximum value of 30" (CloudFormation AWS::SSMContacts::Plan Stage: "Maximum: 30").
 */
export const MAX_STAGE_MINUTES = 30;

/**
 * The stages that keep one contact engaged for `minutes` (a severity's response time), none longer than
 * {@link MAX_STAGE_MINUTES}: 15 -> [15]; 60 -> [30, 30]. Each stage engages the contact again (a reminder);
 * acknowledging stops the escalation.
 */
export function stageDurations(minutes: number): number[] {
    if (!Number.isInteger(minutes) || minutes < 1) throw new Error(`a response time of ${minutes} minutes: must be a whole number of minutes, at least 1`);
    const n = Math.ceil(minutes / MAX_STAGE_MINUTES);
    const base = Math.floor(minutes / n);
    return Array.from({ length: n }, (_, i) => base + (i < minutes - base * n ? 1 : 0));
}

/** An emergency contact from config: `Name|+E164|email`, in escalation order. */
export interface EmergencyContact {
    name: string;
    phone: string;
    email: string;
}

/** A contact's alias: SSM Contacts CreateContact, Alias "Pattern: ^[a-z0-9_\-]*$", 1-255 characters. */
export function contactAlias(prefix: string, name: string): string {
    return `${prefix}-${name.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "")}`.slice(0, 255);
}

/** The response plan's name of a severity; its ARN has no region (`arn:aws:ssm-incidents::<account>:response-plan/<name>`). */
export const responsePlanName = (prefix: string, severity: IncidentSeverity) => `${prefix}-${severity.toLowerCase()}`;
export const responsePlanArn = (accountId: pulumi.Input<string>, prefix: string, severity: IncidentSeverity) =>
    pulumi.interpolate`arn:aws:ssm-incidents::${accountId}:response-plan/${responsePlanName(prefix, severity)}`;

export interface IncidentResponseArgs {
    namePrefix: string;
    /** In escalation order: the first is engaged first; the next when nobody acknowledged within the response time. */
    contacts: EmergencyContact[];
    /** SNS topics the incidents notify when updated (the critical alert topic). */
    notificationTopicArn: pulumi.Input<string>;
}

/**
 * On-call engagement and escalation with Incident Manager (opt-in, see {@link INCIDENT_MANAGER_AVAILABILITY}):
 * each emergency contact with SMS and e-mail channels and an engagement plan; per engaged severity
 * (P1, P2) an escalation plan that engages the contacts in order, each one for the severity's response
 * time (in stages of at most {@link MAX_STAGE_MINUTES} minutes, AWS's limit: the P2 hour is two stages of
 * 30 that engage the same contact twice; acknowledging stops it), and a response plan (impact 1 for P1, 2 for P2)
 * that the severity's alarms start (components/monitoring.ts, `responsePlanArns`).
 *
 * Contact channels must be activated by their owners (a code sent to the device) before they engage.
 */
export class IncidentResponse extends pulumi.ComponentResource {
    readonly responsePlanArns: Partial<Record<IncidentSeverity, pulumi.Output<string>>>;

    constructor(name: string, args: IncidentResponseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("genie:communication:IncidentResponse", name, {}, opts);
        const parent = { parent: this };
        if (args.contacts.length === 0) throw new Error("Incident Manager needs at least one emergency contact (config incidentContacts)");
        const contacts = args.contacts.map((c, i) => {
            const contact = new aws.ssmcontacts.Contact(`${name}-contact-${i}`, { alias: contactAlias(args.namePrefix, c.name), displayName: c.name, type: "PERSONAL" }, parent);
            const sms = new aws.ssmcontacts.ContactChannel(`${name}-contact-${i}-sms`, { contactId: contact.arn, name: `${c.name} SMS`, type: "SMS", deliveryAddress: { simpleAddress: c.phone } }, parent);
            const email = new aws.ssmcontacts.ContactChannel(`${name}-contact-${i}-email`, { contactId: contact.arn, name: `${c.name} e-mail`, type: "EMAIL", deliveryAddress: { simpleAddress: c.email } }, parent);
            new aws.ssmcontacts.Plan(`${name}-contact-${i}-engagement`, {
                contactId: contact.arn,
                stages: [{
                    durationInMinutes: 0,
                    targets: [sms, email].map((ch) => ({ channelTargetInfo: { contactChannelId: ch.arn, retryIntervalInMinutes: 5 } })),
                }],
            }, parent);
            return contact;
        });
        this.responsePlanArns = {};
        for (const severity of ENGAGED_SEVERITIES) {
            const level = SEVERITY_LEVELS[severity];
            const escalation = new aws.ssmcontacts.Contact(`${name}-${severity.toLowerCase()}-escalation`, {
                alias: contactAlias(args.namePrefix, `${severity}-escalation`),
                displayName: `${level.label} escalation`,
                type: "ESCALATION",
            }, parent);
            new aws.ssmcontacts.Plan(`${name}-${severity.toLowerCase()}-escalation`, {
                contactId: escalation.arn,
                stages: contacts.flatMap((c) => stageDurations(level.responseMinutes).map((durationInMinutes) => ({
                    durationInMinutes,
                    targets: [{ contactTargetInfo: { contactId: c.arn, isEssential: true } }],
                }))),
            }, parent);
            const plan = new aws.ssmincidents.ResponsePlan(`${name}-${severity.toLowerCase()}`, {
                name: responsePlanName(args.namePrefix, severity),
                displayName: `Genie ${level.label}: ${level.meaning}`,
                incidentTemplate: {
                    title: `Genie ${level.label}: ${level.meaning}`,
                    impact: level.incidentManagerImpact,
                    summary: `Acknowledge within ${responseTime(severity)}; the escalation engages the next emergency contact after it.`,
                    notificationTargets: [{ snsTopicArn: args.notificationTopicArn }],
                },
                engagements: [escalation.arn],
            }, parent);
            this.responsePlanArns[severity] = plan.arn;
        }
        this.registerOutputs({ responsePlanArns: this.responsePlanArns });
    }
}

/** Parses config `incidentContacts` entries (`Name|+E164|email`); returns the problems, each naming the entry. */
export function parseContacts(entries: string[], key: string): { contacts: EmergencyContact[]; problems: string[] } {
    const problems: string[] = [];
    const contacts: EmergencyContact[] = [];
    for (const entry of entries) {
        const parts = entry.split("|").map((p) => p.trim());
        const [name, phone, email] = parts;
        if (parts.length !== 3 || !name || !/^\+[1-9]\d{6,14}$/.test(phone ?? "") || !/^[^\s@]+@[^\s@]+\.[A-Za-z]{2,}$/.test(email ?? "")) {
            problems.push(`${key} has ${JSON.stringify(entry)}: must be "Name|+E164 phone|email", e.g. "Technical Lead|+15555550100|lead@example.com" (in escalation order)`);
            continue;
        }
        contacts.push({ name, phone, email });
    }
    return { contacts, problems };
}
