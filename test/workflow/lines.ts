/**
 * Plans of an order of lines: the order's messages carry an `orderId`
 * (correlation set `order` of the process), its lines' a `lineId` (set
 * `line` of the scope each line is handled in).
 */
export const LINES_NS = 'urn:test:lines';

const element = (name: string, fields: readonly string[]): string =>
  `<xsd:element name="${name}"><xsd:complexType><xsd:sequence>${fields.map((f) => `<xsd:element name="${f}" type="xsd:string"/>`).join('')}</xsd:sequence></xsd:complexType></xsd:element>`;

/** An order of lines: `start` carries the order id, `register` and `ship` a line id. */
export const LINES_WSDL = `<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions name="Lines" targetNamespace="${LINES_NS}" xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:plnk="http://docs.oasis-open.org/wsbpel/2.0/plnktype"
    xmlns:vprop="http://docs.oasis-open.org/wsbpel/2.0/varprop" xmlns:l="${LINES_NS}">
  <wsdl:types>
    <xsd:schema targetNamespace="${LINES_NS}">
      ${element('Start', ['orderId'])}
      ${element('Register', ['lineId'])}
      ${element('Ship', ['lineId', 'note'])}
      ${element('Finish', ['orderId'])}
    </xsd:schema>
  </wsdl:types>
  <wsdl:message name="StartIn"><wsdl:part name="p" element="l:Start"/></wsdl:message>
  <wsdl:message name="RegisterIn"><wsdl:part name="p" element="l:Register"/></wsdl:message>
  <wsdl:message name="ShipIn"><wsdl:part name="p" element="l:Ship"/></wsdl:message>
  <wsdl:message name="FinishIn"><wsdl:part name="p" element="l:Finish"/></wsdl:message>
  <wsdl:portType name="LinePortType">
    <wsdl:operation name="start"><wsdl:input message="l:StartIn"/></wsdl:operation>
    <wsdl:operation name="register"><wsdl:input message="l:RegisterIn"/></wsdl:operation>
    <wsdl:operation name="ship"><wsdl:input message="l:ShipIn"/></wsdl:operation>
    <wsdl:operation name="finish"><wsdl:input message="l:FinishIn"/></wsdl:operation>
  </wsdl:portType>
  <plnk:partnerLinkType name="LineLink"><plnk:role name="service" portType="l:LinePortType"/></plnk:partnerLinkType>
  <vprop:property name="orderId" type="xsd:string"/>
  <vprop:property name="lineId" type="xsd:string"/>
  <vprop:propertyAlias propertyName="l:orderId" messageType="l:StartIn" part="p"><vprop:query>orderId</vprop:query></vprop:propertyAlias>
  <vprop:propertyAlias propertyName="l:orderId" messageType="l:FinishIn" part="p"><vprop:query>orderId</vprop:query></vprop:propertyAlias>
  <vprop:propertyAlias propertyName="l:lineId" messageType="l:RegisterIn" part="p"><vprop:query>lineId</vprop:query></vprop:propertyAlias>
  <vprop:propertyAlias propertyName="l:lineId" messageType="l:ShipIn" part="p"><vprop:query>lineId</vprop:query></vprop:propertyAlias>
</wsdl:definitions>`;

const header = `xmlns:bpel="http://docs.oasis-open.org/wsbpel/2.0/process/executable" xmlns:l="${LINES_NS}" xmlns:xsd="http://www.w3.org/2001/XMLSchema"`;
const IMPORT = `<bpel:import importType="http://schemas.xmlsoap.org/wsdl/" namespace="${LINES_NS}" location="lines.wsdl"/>`;

/** The partner each line is registered with: one instance per registration. */
export const REGISTRY_PROCESS = `<bpel:process name="LineRegistry" targetNamespace="urn:test:p" ${header}>
  ${IMPORT}
  <bpel:partnerLinks><bpel:partnerLink name="client" partnerLinkType="l:LineLink" myRole="service"/></bpel:partnerLinks>
  <bpel:receive partnerLink="client" operation="register" createInstance="yes"/>
</bpel:process>`;

/**
 * Two lines handled by a parallel forEach: each branch's scope registers its line (initiating the
 * scope's set "line" with the request) and waits for the `ship` message of that line. Then the order
 * waits for `finish`, routed by the process-level set.
 */
export const ORDER_LINES_PROCESS = `<bpel:process name="OrderLines" targetNamespace="urn:test:p" ${header}>
  ${IMPORT}
  <bpel:partnerLinks>
    <bpel:partnerLink name="client" partnerLinkType="l:LineLink" myRole="service"/>
    <bpel:partnerLink name="registry" partnerLinkType="l:LineLink" partnerRole="service"/>
  </bpel:partnerLinks>
  <bpel:variables>
    <bpel:variable name="start" messageType="l:StartIn"/>
    <bpel:variable name="finish" messageType="l:FinishIn"/>
    <bpel:variable name="note" type="xsd:string"><bpel:from>'shipped:'</bpel:from></bpel:variable>
  </bpel:variables>
  <bpel:correlationSets><bpel:correlationSet name="order" properties="l:orderId"/></bpel:correlationSets>
  <bpel:sequence>
    <bpel:receive partnerLink="client" operation="start" variable="start" createInstance="yes">
      <bpel:correlations><bpel:correlation set="order" initiate="yes"/></bpel:correlations>
    </bpel:receive>
    <bpel:forEach counterName="i" parallel="yes">
      <bpel:startCounterValue>1</bpel:startCounterValue><bpel:finalCounterValue>2</bpel:finalCounterValue>
      <bpel:scope name="line">
        <bpel:variables><bpel:variable name="register" messageType="l:RegisterIn"/><bpel:variable name="ship" messageType="l:ShipIn"/></bpel:variables>
        <bpel:correlationSets><bpel:correlationSet name="line" properties="l:lineId"/></bpel:correlationSets>
        <bpel:sequence>
          <bpel:assign>
            <bpel:copy><bpel:from><bpel:literal><l:Register><lineId/></l:Register></bpel:literal></bpel:from><bpel:to variable="register" part="p"/></bpel:copy>
            <bpel:copy><bpel:from>concat($start.p/orderId, '-', $i)</bpel:from><bpel:to>$register.p/lineId</bpel:to></bpel:copy>
          </bpel:assign>
          <bpel:invoke name="register" partnerLink="registry" operation="register" inputVariable="register">
            <bpel:correlations><bpel:correlation set="line" initiate="yes" pattern="request"/></bpel:correlations>
          </bpel:invoke>
          <bpel:receive name="ship" partnerLink="client" operation="ship" variable="ship">
            <bpel:correlations><bpel:correlation set="line"/></bpel:correlations>
          </bpel:receive>
          <bpel:assign><bpel:copy><bpel:from>concat($note, ' ', $ship.p/lineId, '=', $ship.p/note)</bpel:from><bpel:to variable="note"/></bpel:copy></bpel:assign>
        </bpel:sequence>
      </bpel:scope>
    </bpel:forEach>
    <bpel:receive name="finish" partnerLink="client" operation="finish" variable="finish">
      <bpel:correlations><bpel:correlation set="order"/></bpel:correlations>
    </bpel:receive>
  </bpel:sequence>
</bpel:process>`;

export const message = (operation: 'Start' | 'Ship' | 'Finish', field: string, id: string, note?: string): string =>
  `<l:${operation} xmlns:l="${LINES_NS}"><${field}>${id}</${field}>${note === undefined ? '' : `<note>${note}</note>`}</l:${operation}>`;
