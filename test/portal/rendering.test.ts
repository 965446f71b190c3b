import { expect } from 'chai';
import { escapeHtml, html, raw } from '../../src/portal/html';
import { htmlPattern } from '../../src/portal/html-pattern';
import { tokensEqual } from '../../src/portal/sessions';
import { fieldId, labelOf, parameterField } from '../../src/portal/task-form';
import type { ParameterDefinition } from '../../src/workorders/api';

function field(definition: Partial<ParameterDefinition> & Pick<ParameterDefinition, 'name' | 'type'>, values = new Map<string, string>(), errors = new Map<string, string[]>()): string {
  return parameterField({ required: false, help: '', ...definition }, values, errors).text;
}

describe('portal rendering', () => {
  describe('the html template', () => {
    it('escapes every interpolation, in content and in attributes', () => {
      const evil = `<script>alert("x")</script>' onmouseover='y`;
      const out = html`<p title="${evil}">${evil}</p>`.text;
      expect(out).to.not.include('<script>');
      expect(out).to.equal(`<p title="${escapeHtml(evil)}">${escapeHtml(evil)}</p>`);
      expect(out).to.include('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;y');
    });

    it('keeps Html fragments and raw() as they are, joins lists and renders nothing for false, null and undefined', () => {
      const items = ['a<b', 'c'].map((s) => html`<li>${s}</li>`);
      expect(html`<ul>${items}</ul>${false}${null}${undefined}${raw('<hr>')}${0}`.text).to.equal('<ul><li>a&lt;b</li><li>c</li></ul><hr>0');
    });
  });

  describe('the task screen fields', () => {
    it('renders integer parameters as number inputs with min, max and step 1, prefilled with the default', () => {
      const out = field({ name: 'sizeGb', type: 'xsd:int', min: 1, max: 500, default: '10', required: true, help: 'Size in GB' });
      expect(out).to.match(/<input id="[^"]+" name="sizeGb" type="number" step="1" min="1" max="500" value="10"[^>]* required>/);
      expect(out).to.include('Size in GB');
    });

    it('renders decimals with step any, allowed values as a select and booleans as a yes/no select sending true/false', () => {
      expect(field({ name: 'iops', type: 'xsd:decimal' })).to.include('step="any"');
      const select = field({ name: 'tier', type: 'xsd:string', allowed: ['gold', 'silver'], default: 'silver' });
      expect(select).to.include('<select').and.include('<option value="silver" selected>silver</option>').and.include('<option value="gold">gold</option>');
      const bool = field({ name: 'encrypted', type: 'xsd:boolean', required: true }, new Map([['encrypted', 'false']]));
      expect(bool).to.include('<option value="true">Yes</option>').and.include('<option value="false" selected>No</option>').and.match(/<select[^>]* required>/);
    });

    it('puts pattern, maxLength and required on text inputs and shows the server\'s problems next to the field', () => {
      const out = field({ name: 'label', type: 'xsd:string', pattern: '[a-z]+', maxLength: 20, required: true }, new Map([['label', 'A"B']]), new Map([['label', ['must match [a-z]+']]]));
      expect(out).to.include('pattern="[a-z]+"').and.include('maxlength="20"').and.include('value="A&quot;B"').and.include(' required>');
      expect(out).to.include(`<p class="field-error" id="${fieldId('label')}-error" role="alert">must match [a-z]+</p>`);
    });
  });

  describe('labels', () => {
    it('label a field with the catalog\'s label, else with its name spelt out, never the bare name', () => {
      expect(field({ name: 'sizeGiB', label: 'Size (GiB)', type: 'xsd:int' })).to.include(`<label for="${fieldId('sizeGiB')}">Size (GiB)</label>`);
      expect(field({ name: 'sizeGiB', type: 'xsd:int' })).to.include('>Size GiB</label>');
      expect(labelOf({ name: 'retain_count' })).to.equal('Retain count');
      expect(labelOf({ name: 'volume' })).to.equal('Volume');
      expect(labelOf({ name: 'x', label: 'A <b> label' })).to.equal('A <b> label');
      expect(field({ name: 'x', label: 'A <b> label', type: 'xsd:string' })).to.include('>A &lt;b&gt; label</label>');
    });

    it('mark only the fields the server refused', () => {
      expect(field({ name: 'a', type: 'xsd:string' })).to.include('<div class="field" data-parameter="a">');
      expect(field({ name: 'a', type: 'xsd:string' }, new Map(), new Map([['a', ['is required']]]))).to.include('<div class="field refused" data-parameter="a">');
    });
  });

  describe('patterns for the browser', () => {
    it('keeps patterns the browser accepts and escapes literal characters in classes that its v-flag compilation refuses', () => {
      expect(htmlPattern('[a-z]+(-[a-z]+)*')).to.equal('[a-z]+(-[a-z]+)*');
      expect(htmlPattern('[a-z0-9][a-z0-9._-]{0,62}')).to.equal('[a-z0-9][a-z0-9._\\-]{0,62}');
      expect(htmlPattern('[-a(b)|/{}]x')).to.equal('[\\-a\\(b\\)\\|\\/\\{\\}]x');
      expect(htmlPattern('[^-x]')).to.equal('[^\\-x]');
      const escaped = htmlPattern('[a-z0-9][a-z0-9._-]{0,62}') ?? '';
      for (const sample of ['ab-c', 'a.b_c', 'x', 'Bad', '-a', 'a b']) {
        expect(new RegExp(`^(?:${escaped})$`, 'v').test(sample), sample).to.equal(/^(?:[a-z0-9][a-z0-9._-]{0,62})$/.test(sample));
      }
    });

    it('leaves out a pattern that no browser could compile', () => {
      expect(htmlPattern('(')).to.equal(undefined);
    });
  });

  describe('tokens', () => {
    it('compare tokens exactly, and an empty token never matches', () => {
      expect(tokensEqual('abc', 'abc')).to.equal(true);
      expect(tokensEqual('abd', 'abc')).to.equal(false);
      expect(tokensEqual('abcd', 'abc')).to.equal(false);
      expect(tokensEqual('', '')).to.equal(false);
    });
  });
});
