/**
 * Plans that take messages after the instance-creating one: an order
 * service whose messages carry an `orderId`, the property the plans'
 * correlation set `order` is made of.
 */
import { soapEnvelope } from './support';

export const ORDERS_NS = 'urn:test:orders';

const element = (name: string, fields: readonly string[]): string =>
  `<xsd:element name="${name}"><xsd:complexType><xsd:sequence>${fields.map((f) => `<xsd:element name="${f}" type="xsd:string"/>`).join('')}</xsd:sequence></xsd:complexType></xsd:element>`;

const alias = (messageType: string): string => `<vprop:propertyAlias propertyName="o:orderId" messageType="o:${messageType}" part="p"><vprop:query>orderId</vprop:query></vprop:propertyAlias>`;

export const ORDERS_WSDL = `<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="Orders" targetNamespace="${ORDERS_NS}" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:plnk="http://docs.oasis-open.org/wsbpel/2.0/plnktype"
    xmlns:vprop="http://docs.oasis-open.org/wsbpel/2.0/varprop" xmlns:o="${ORDERS_NS}">
  <wsdl:types>
    <xsd:schema targetNamespace="${ORDERS_NS}">
      ${element('Start', ['orderId'])}
      ${element('Confirm', ['orderId', 'note'])}
      ${element('ConfirmResponse', ['orderId', 'note'])}
      ${element('Go', ['orderId'])}
      ${element('Notify', ['orderId'])}
      ${element('Finish', ['orderId'])}
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="StartIn"><wsdl:part name="p" element="o:Start"/></wsdl:message>
  <wsdl:message name="ConfirmIn"><wsdl:part name="p" element="o:Confirm"/></wsdl:message>
  <wsdl:message name="ConfirmOut"><wsdl:part name="p" element="o:ConfirmResponse"/></wsdl:message>
  <wsdl:message name="GoIn"><wsdl:part name="p" element="o:Go"/></wsdl:message>
  <wsdl:message name="NotifyIn"><wsdl:part name="p" element="o:Notify"/></wsdl:message>
  <wsdl:message name="FinishIn"><wsdl:part name="p" element="o:Finish"/></wsdl:message>
  <wsdl:portType name="OrderPortType">
    <wsdl:operation name="start"><wsdl:input message="o:StartIn"/></wsdl:operation>
    <wsdl:operation name="confirm"><wsdl:input message="o:ConfirmIn"/><wsdl:output message="o:ConfirmOut"/></wsdl:operation>
    <wsdl:operation name="go"><wsdl:input message="o:GoIn"/></wsdl:operation>
    <wsdl:operation name="notify"><wsdl:input message="o:NotifyIn"/></wsdl:operation>
    <wsdl:operation name="finish"><wsdl:input message="o:FinishIn"/></wsdl:operation>
  </wsdl:portType>
  <plnk:partnerLinkType name="OrderLink"><plnk:role name="service" portType="o:OrderPortType"/></plnk:partnerLinkType>
  <vprop:property name="orderId" type="xsd:string"/>
  ${['StartIn', 'ConfirmIn', 'ConfirmOut', 'GoIn', 'NotifyIn', 'FinishIn'].map(alias).join('\n  ')}
</wsdl:definitions>`;

/** A process of the order service: `variables` and `body` around the shared declarations. */
export function orderProcess(name: string, body: string, variables = ''): string {
  return `<bpel:process name="${name}" targetNamespace="urn:test:p" xmlns:bpel="http://docs.oasis-open.org/wsbpel/2.0/process/executable"
    xmlns:o="${ORDERS_NS}" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="${ORDERS_NS}" location="orders.wsdl"/>
  <bpel:partnerLinks><bpel:partnerLink name="client" partnerLinkType="o:OrderLink" myRole="service"/></bpel:partnerLinks>
  <bpel:variables>
    <bpel:variable name="start" messageType="o:StartIn"/>
    <bpel:variable name="note" type="xsd:string"><bpel:from>'none'</bpel:from></bpel:variable>${variables}
  </bpel:variables>
  <bpel:correlationSets><bpel:correlationSet name="order" properties="o:orderId"/></bpel:correlationSets>
  ${body}
</bpel:process>`;
}

/** The instance-creating receive of `start`, initiating the correlation set. */
export const START = `<bpel:receive name="start" partnerLink="client" operation="start" variable="start" createInstance="yes">
      <bpel:correlations><bpel:correlation set="order" initiate="yes"/></bpel:correlations>
    </bpel:receive>`;

/** The correlation of a message taken by a running instance. */
export const BY_ORDER = '<bpel:correlations><bpel:correlation set="order"/></bpel:correlations>';

/** The correlation of one of several start activities. */
const JOIN = '<bpel:correlations><bpel:correlation set="order" initiate="join"/></bpel:correlations>';

/** Starts an instance, takes `confirm` for it and answers with the order id (read as a property) and the note sent. */
export const CONFIRM_PROCESS = orderProcess(
  'OrderConfirm',
  `<bpel:sequence>
    ${START}
    <bpel:receive name="confirm" partnerLink="client" operation="confirm" variable="confirm">${BY_ORDER}</bpel:receive>
    <bpel:assign>
      <bpel:copy><bpel:from><bpel:literal><o:ConfirmResponse><orderId/><note/></o:ConfirmResponse></bpel:literal></bpel:from><bpel:to variable="answer" part="p"/></bpel:copy>
      <bpel:copy><bpel:from variable="confirm" property="o:orderId"/><bpel:to>$answer.p/orderId</bpel:to></bpel:copy>
      <bpel:copy><bpel:from>$confirm.p/note</bpel:from><bpel:to>$answer.p/note</bpel:to></bpel:copy>
    </bpel:assign>
    <bpel:reply name="answer" partnerLink="client" operation="confirm" variable="answer"/>
  </bpel:sequence>`,
  `
    <bpel:variable name="confirm" messageType="o:ConfirmIn"/>
    <bpel:variable name="answer" messageType="o:ConfirmOut"/>`,
);

/** Two start activities in a flow: whichever of `start` and `go` comes first creates the instance, the other joins it. */
export const TWO_STARTS_PROCESS = orderProcess(
  'OrderTwoStarts',
  `<bpel:sequence>
    <bpel:flow>
      <bpel:receive name="start" partnerLink="client" operation="start" variable="start" createInstance="yes">${JOIN}</bpel:receive>
      <bpel:receive name="go" partnerLink="client" operation="go" variable="go" createInstance="yes">${JOIN}</bpel:receive>
    </bpel:flow>
    <bpel:assign><bpel:copy><bpel:from>concat('start ', $start.p/orderId, ', go ', $go.p/orderId)</bpel:from><bpel:to variable="note"/></bpel:copy></bpel:assign>
  </bpel:sequence>`,
  '\n    <bpel:variable name="go" messageType="o:GoIn"/>',
);

/** The body of a message of the order service. */
export function orderMessage(operation: 'Start' | 'Confirm' | 'Go' | 'Notify' | 'Finish', orderId: string, note?: string): string {
  return `<o:${operation} xmlns:o="${ORDERS_NS}"><orderId>${orderId}</orderId>${note === undefined ? '' : `<note>${note}</note>`}</o:${operation}>`;
}

/** Posts a message to a process endpoint as `user`, with a WS-Addressing MessageID when one is given. */
export async function postMessage(baseUrl: string, user: { readonly username: string; readonly password: string }, processName: string, body: string, messageId?: string): Promise<{ status: number; text: string }> {
  const envelope = soapEnvelope(user, body);
  const response = await fetch(`${baseUrl}/soap/processes/${processName}`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
    body: messageId === undefined ? envelope : envelope.replace('<soap:Header>', `<soap:Header><wsa:MessageID xmlns:wsa="http://www.w3.org/2005/08/addressing">${messageId}</wsa:MessageID>`),
  });
  return { status: response.status, text: await response.text() };
}
