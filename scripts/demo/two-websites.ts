/**
 * The original design's change plan, for real: two activity sets in a flow,
 * each a sequence on its own system — install the HTTP server, install the
 * website, configure both, start the server. Every step uses the monitoring
 * pattern (invoke → keep the requestId → while not completed: GetStatus,
 * wait), and the server's installation runs in a scope whose onAlarm limits
 * its duration.
 *
 * The plan comes in two styles of variables, both standard WS-BPEL: message
 * variables (`messageType`, read by part: `$x.parameters/sw:requestId`) or
 * element variables (`element`, the element of the message's single part:
 * `$x/sw:requestId`), the usual style with document/literal WSDLs.
 */
import fs from 'node:fs';
import path from 'node:path';

export const PARTNERS_WSDL_NAME = 'partners.wsdl';

export function partnersWsdl(): string {
  return fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'scripts', 'demo', PARTNERS_WSDL_NAME), 'utf8');
}

interface Step {
  readonly name: string;
  readonly operation: 'Install' | 'Configure' | 'Start';
  readonly component: string;
  readonly parameters?: string;
}

/** How a plan declares the variables of its invokes. */
export type VariableStyle = 'message' | 'element';

function monitoredStep(branch: string, system: string, step: Step, style: VariableStyle, limit?: string): string {
  const v = `${branch}_${step.name}`;
  // The to-spec of a whole message part, and the path to a child of it, in either style.
  const whole = (name: string): string => (style === 'message' ? `<bpel:to variable="${name}" part="parameters"/>` : `<bpel:to variable="${name}"/>`);
  const at = (name: string): string => (style === 'message' ? `$${name}.parameters` : `$${name}`);
  const body = `
          <bpel:sequence name="${v}">
            <bpel:assign name="${v}_prepare">
              <bpel:copy>
                <bpel:from><bpel:literal><sw:${step.operation}><sw:system>${system}</sw:system><sw:component>${step.component}</sw:component>${step.parameters ?? ''}</sw:${step.operation}></bpel:literal></bpel:from>
                ${whole(`${v}_request`)}
              </bpel:copy>
            </bpel:assign>
            <bpel:invoke name="${v}_invoke" partnerLink="software" operation="${step.operation}" inputVariable="${v}_request" outputVariable="${v}_response"/>
            <bpel:assign name="${v}_keepRequestId">
              <bpel:copy>
                <bpel:from><bpel:literal><rq:GetStatus><rq:requestId/></rq:GetStatus></bpel:literal></bpel:from>
                ${whole(`${v}_statusRequest`)}
              </bpel:copy>
              <bpel:copy>
                <bpel:from>${at(`${v}_response`)}/sw:requestId</bpel:from>
                <bpel:to>${at(`${v}_statusRequest`)}/rq:requestId</bpel:to>
              </bpel:copy>
              <bpel:copy>
                <bpel:from><bpel:literal><rq:GetStatusResponse><rq:status>QUEUED</rq:status></rq:GetStatusResponse></bpel:literal></bpel:from>
                ${whole(`${v}_status`)}
              </bpel:copy>
            </bpel:assign>
            <bpel:while name="${v}_monitor">
              <bpel:condition>not(starts-with(${at(`${v}_status`)}/rq:status, 'COMPLETED') or ${at(`${v}_status`)}/rq:status = 'UNKNOWN')</bpel:condition>
              <bpel:sequence>
                <bpel:invoke name="${v}_getStatus" partnerLink="requests" operation="GetStatus" inputVariable="${v}_statusRequest" outputVariable="${v}_status"/>
                <bpel:if>
                  <bpel:condition>not(starts-with(${at(`${v}_status`)}/rq:status, 'COMPLETED') or ${at(`${v}_status`)}/rq:status = 'UNKNOWN')</bpel:condition>
                  <bpel:wait><bpel:for>'PT0.2S'</bpel:for></bpel:wait>
                </bpel:if>
              </bpel:sequence>
            </bpel:while>
            <bpel:if name="${v}_check">
              <bpel:condition>${at(`${v}_status`)}/rq:status != 'COMPLETED_SUCCESS'</bpel:condition>
              <bpel:throw faultName="demo:stepFailed"/>
            </bpel:if>
          </bpel:sequence>`;
  const variables =
    style === 'message'
      ? `
          <bpel:variables>
            <bpel:variable name="${v}_request" messageType="sw:${step.operation}Request"/>
            <bpel:variable name="${v}_response" messageType="sw:${step.operation}Response"/>
            <bpel:variable name="${v}_statusRequest" messageType="rq:GetStatusRequest"/>
            <bpel:variable name="${v}_status" messageType="rq:GetStatusResponse"/>
          </bpel:variables>`
      : `
          <bpel:variables>
            <bpel:variable name="${v}_request" element="sw:${step.operation}"/>
            <bpel:variable name="${v}_response" element="sw:${step.operation}Response"/>
            <bpel:variable name="${v}_statusRequest" element="rq:GetStatus"/>
            <bpel:variable name="${v}_status" element="rq:GetStatusResponse"/>
          </bpel:variables>`;
  const alarm =
    limit === undefined
      ? ''
      : `
          <bpel:eventHandlers>
            <bpel:onAlarm>
              <bpel:for>'${limit}'</bpel:for>
              <bpel:scope><bpel:empty name="${v}_tooSlow"/></bpel:scope>
            </bpel:onAlarm>
          </bpel:eventHandlers>`;
  return `
        <bpel:scope name="${v}_scope">${variables}${alarm}${body}
        </bpel:scope>`;
}

function branch(name: string, system: string, port: number, title: string, style: VariableStyle): string {
  const steps: Step[] = [
    { name: 'installServer', operation: 'Install', component: 'demo-httpd' },
    { name: 'installSite', operation: 'Install', component: 'demo-site' },
    { name: 'configureSite', operation: 'Configure', component: 'demo-site', parameters: `<sw:parameters><sw:parameter><sw:name>title</sw:name><sw:value>${title}</sw:value></sw:parameter></sw:parameters>` },
    { name: 'configureServer', operation: 'Configure', component: 'demo-httpd', parameters: `<sw:parameters><sw:parameter><sw:name>port</sw:name><sw:value>${port}</sw:value></sw:parameter></sw:parameters>` },
    { name: 'startServer', operation: 'Start', component: 'demo-httpd' },
  ];
  // A failure in one branch is recorded and does not stop the other.
  return `
      <bpel:scope name="${name}">
        <bpel:faultHandlers>
          <bpel:catchAll>
            <bpel:assign name="${name}_failed">
              <bpel:copy><bpel:from>$failures + 1</bpel:from><bpel:to variable="failures"/></bpel:copy>
            </bpel:assign>
          </bpel:catchAll>
        </bpel:faultHandlers>
        <bpel:sequence name="${name}_steps">${steps.map((s, i) => monitoredStep(name, system, s, style, i === 0 ? 'PT45M' : undefined)).join('')}
        </bpel:sequence>
      </bpel:scope>`;
}

export interface TwoWebsitesOptions {
  readonly processName?: string;
  readonly systems: readonly [{ system: string; port: number; title: string }, { system: string; port: number; title: string }];
  /** Message variables (the default) or element variables. */
  readonly variables?: VariableStyle;
}

/** The plan's WS-BPEL text. */
export function twoWebsitesPlan(options: TwoWebsitesOptions): string {
  const [a, b] = options.systems;
  return `<?xml version="1.0" encoding="utf-8"?>
<bpel:process name="${options.processName ?? 'TwoWebsites'}" targetNamespace="urn:provisor:examples:two-websites"
    xmlns:bpel="http://docs.oasis-open.org/wsbpel/2.0/process/executable"
    xmlns:sw="urn:provisor:software:1" xmlns:rq="urn:provisor:request:1"
    xmlns:pl="urn:provisor:examples:partners" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:demo="urn:provisor:examples:two-websites">
  <bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="urn:provisor:examples:partners" location="${PARTNERS_WSDL_NAME}"/>
  <bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="urn:provisor:software:1" location="software.wsdl"/>
  <bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="urn:provisor:request:1" location="request.wsdl"/>
  <bpel:partnerLinks>
    <bpel:partnerLink name="software" partnerLinkType="pl:Software" partnerRole="provider"/>
    <bpel:partnerLink name="requests" partnerLinkType="pl:Request" partnerRole="provider"/>
  </bpel:partnerLinks>
  <bpel:variables>
    <bpel:variable name="failures" type="xsd:int"><bpel:from>0</bpel:from></bpel:variable>
  </bpel:variables>
  <bpel:sequence name="main">
    <bpel:flow name="websites">${branch('site1', a.system, a.port, a.title, options.variables ?? 'message')}${branch('site2', b.system, b.port, b.title, options.variables ?? 'message')}
    </bpel:flow>
    <bpel:if name="anyFailed">
      <bpel:condition>$failures &gt; 0</bpel:condition>
      <bpel:throw faultName="demo:siteFailed"/>
    </bpel:if>
  </bpel:sequence>
</bpel:process>
`;
}
