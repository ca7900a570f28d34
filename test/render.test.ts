// Static plots: SVG structure, where things land in the raster, fonts present without system
// fonts, PNG output, and the model figure behind `hti plot`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { CLASS_COLORS, escapeXml, heatLevels, fontFile, niceTicks, renderLineChartsSvg, renderPanelsSvg, renderScatterSvg, svgToPixels, svgToPng, writePlot, type Layer } from '../src/plot/render.js';
import { modelFigureSvg } from '../src/plot/figure.js';
import { circleModel } from '../src/server/analytic.js';

function pixel(img: { width: number; pixels: Uint8Array }, x: number, y: number): [number, number, number] {
  const o = (y * img.width + x) * 4;
  return [img.pixels[o], img.pixels[o + 1], img.pixels[o + 2]];
}

const hex = (c: string): [number, number, number] => {
  const v = parseInt(c.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
};

function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('renderScatterSvg', () => {
  test('one circle per finite point, coloured by class, text escaped', () => {
    const layers: Layer[] = [{ kind: 'points', xy: [0, 0, 1, 1, NaN, 2, 2, 0], classes: [0, 1, 0, 2] }];
    const svg = renderScatterSvg(layers, { title: 'a < b & "c"', xLabel: 'y0', yLabel: 'y1' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<circle /g)).toHaveLength(3);
    expect(svg).toContain(`fill="${CLASS_COLORS[1]}"`);
    expect(svg).toContain(`fill="${CLASS_COLORS[2]}"`);
    expect(svg).toContain('a &lt; b &amp; &quot;c&quot;');
    expect(escapeXml(`<'>`)).toBe('&lt;&apos;&gt;');
  });

  test('a point lands at its data position in the raster', () => {
    // Plot area 552 × 410 px from (52, 16); bounds given and equal aspect off → exact mapping.
    const svg = renderScatterSvg([{ kind: 'points', xy: [0.5, 0.25], color: '#ff0000', radius: 6, opacity: 1 }], {
      bounds: [
        [0, 1],
        [0, 1],
      ],
      equalAspect: false,
    });
    const img = svgToPixels(svg);
    expect(img.width).toBe(640);
    const x = Math.round(52 + 0.5 * 576);
    const y = Math.round(16 + (1 - 0.25) * 422);
    expect(pixel(img, x, y)).toEqual([255, 0, 0]);
    expect(pixel(img, x + 20, y)).toEqual([255, 255, 255]);
  });

  test('heat maps: linear from a low quantile to the maximum (the floor is clipped); rank with ties', () => {
    const xs = [0, 1, 2, 3];
    const ys = [0, 1, 2, 3];
    // A flat floor far below, one peak: linear colouring still shows the peak darkest.
    const values = Array.from({ length: 16 }, (_, k) => (k === 5 ? 0 : k === 6 ? -1 : -1e6));
    const img = svgToPixels(renderScatterSvg([{ kind: 'heatmap', xs, ys, values }], { equalAspect: false }));
    const bounds = [-0.5 - 0.2, 3.5 + 0.2]; // cell edges padded by 5% of the centres' span
    const toX = (v: number) => Math.round(52 + ((v - bounds[0]) / (bounds[1] - bounds[0])) * 576);
    const toY = (v: number) => Math.round(16 + 422 - ((v - bounds[0]) / (bounds[1] - bounds[0])) * 422);
    const peak = pixel(img, toX(1), toY(1));
    const next = pixel(img, toX(2), toY(1));
    const floor = pixel(img, toX(0), toY(0));
    expect(peak[0]).toBeLessThan(160);
    expect(next[0]).toBeLessThan(160); // −1 is near the top of a [−1e6, 0] range
    expect(floor).toEqual([255, 255, 255]);
    expect(Array.from(heatLevels([3, 1, 1, 2], 'rank', 0))).toEqual([1, 0, 0, 2 / 3]);
    expect(Array.from(heatLevels([0, 10, 5, -100], 'linear', 0.34))).toEqual([0, 1, 0.5, 0]);
  });

  test('paths and segments are drawn as polylines and lines', () => {
    const svg = renderScatterSvg([
      { kind: 'paths', paths: [[0, 0, 1, 1, 2, 0], [0, 1]], classes: [1, 0] },
      { kind: 'segments', segments: [0, 0, 1, 0, 0, 1, 1, 1], opacity: [0.2, 0.9] },
    ]);
    expect(svg.match(/<polyline /g)).toHaveLength(1); // a one-point path is skipped
    expect(svg).toContain(`stroke="${CLASS_COLORS[1]}"`);
    expect(svg.match(/<line x1=/g)!.length).toBeGreaterThanOrEqual(2);
    expect(svg).toContain('stroke-opacity="0.9"');
  });

  test('text renders with the packaged font (no system fonts loaded)', () => {
    expect(fs.existsSync(fontFile())).toBe(true);
    const blank = svgToPixels('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60"><rect width="200" height="60" fill="#fff"/></svg>');
    const text = svgToPixels(
      '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60" font-family="DejaVu Sans"><rect width="200" height="60" fill="#fff"/><text x="10" y="40" font-size="30" fill="#000">λ hti</text></svg>',
    );
    const dark = (img: { pixels: Uint8Array }) => {
      let n = 0;
      for (let i = 0; i < img.pixels.length; i += 4) if (img.pixels[i] < 128) n++;
      return n;
    };
    expect(dark(blank)).toBe(0);
    expect(dark(text)).toBeGreaterThan(200);
  });

  test('legend and colour bar', () => {
    const svg = renderScatterSvg([{ kind: 'points', xy: [0, 0, 1, 1], values: [3, 7] }], {
      legend: [{ label: 'class 0', color: '#123456' }],
      colorbar: { label: 'x0', range: [3, 7] },
    });
    expect(svg).toContain('class 0');
    expect(svg).toContain('x0: 3');
    expect(svg).toContain('linearGradient');
    // Lowest value gets the dark end of viridis, highest the yellow end.
    expect(svg).toContain('fill="#440154"');
    expect(svg).toContain('fill="#fde725"');
  });
});

describe('renderPanelsSvg and PNG output', () => {
  test('small multiples share bounds; PNG size follows the layout and the scale', () => {
    const panels = [0, 1, 2, 3, 4].map((k) => ({ title: `panel ${k}`, layers: [{ kind: 'points', xy: [k, k], color: '#000' }] as Layer[] }));
    const svg = renderPanelsSvg(panels, { columns: 3, title: 'five' });
    expect(svg.match(/clip-path="url/g)).toHaveLength(5);
    expect(svg).toContain('panel 4');
    const png = svgToPng(svg);
    expect(pngSize(png)).toEqual({ width: 3 * 340, height: 30 + 2 * 320 });
    expect(pngSize(svgToPng(svg, { scale: 2 }))).toEqual({ width: 2 * 3 * 340, height: 2 * (30 + 2 * 320) });
    expect(() => renderPanelsSvg([])).toThrow(/no panels/);
  });

  test('writePlot picks the format from the extension and names bad targets', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hti-render-'));
    const svg = renderScatterSvg([{ kind: 'points', xy: [0, 0] }]);
    writePlot(path.join(dir, 'a.svg'), svg);
    writePlot(path.join(dir, 'a.png'), svg);
    expect(fs.readFileSync(path.join(dir, 'a.svg'), 'utf8')).toBe(svg);
    expect(pngSize(fs.readFileSync(path.join(dir, 'a.png')))).toEqual({ width: 640, height: 480 });
    expect(() => writePlot(path.join(dir, 'a.jpg'), svg)).toThrow(/must end in .png or .svg/);
    expect(() => writePlot(path.join(dir, 'missing', 'a.png'), svg)).toThrow(/does not exist/);
    fs.rmSync(dir, { recursive: true });
  });

  test('niceTicks', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(-1.9, 1.9)).toEqual([-1, 0, 1]);
    expect(niceTicks(-1.9, 1.9, 8)).toEqual([-1.5, -1, -0.5, 0, 0.5, 1, 1.5]);
  });
});

describe('renderLineChartsSvg', () => {
  test('each chart has its own y range; a line lands at its data position', () => {
    const flat = { x: [0, 10], y: [5, 5], color: '#ff0000', width: 4, opacity: 1 };
    const charts = [
      { title: 'a', yLabel: 'small', series: [flat], bounds: [[0, 10], [0, 10]] as [[number, number], [number, number]] },
      { title: 'b', yLabel: 'large', series: [{ x: [0, 1, 2], y: [1e6, 3e6, 2e6], color: '#0000ff' }] },
    ];
    const svg = renderLineChartsSvg(charts, { xLabel: 'day', legend: [{ label: 'red', color: '#ff0000', shape: 'line' }] });
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg).toContain('>large<');
    expect(svg).toContain('>3.0e+6<'); // the second chart's ticks follow its own data
    // Panel 420 × 260, margins 52/12/28/42: the first plot area is x 52..408, y 28..218.
    const img = svgToPixels(svg);
    expect(img.width).toBe(840);
    expect(pixel(img, Math.round(52 + 0.5 * 356), Math.round(28 + 0.5 * 190))).toEqual([255, 0, 0]);
    expect(pixel(img, Math.round(52 + 0.5 * 356), Math.round(28 + 0.25 * 190))).toEqual([255, 255, 255]);
  });

  test('mismatched series and empty input are errors', () => {
    expect(() => renderLineChartsSvg([])).toThrow(/no charts/);
    expect(() => renderLineChartsSvg([{ series: [{ x: [0, 1], y: [1], color: '#000000' }] }])).toThrow(/2 x and 1 y/);
  });
});

describe('modelFigureSvg', () => {
  test('categorical 2-D model: one panel per λ plus one field panel per class', () => {
    const model = circleModel();
    const svg = modelFigureSvg(model, { lambdas: [0, 0.3, 1], n: 100 });
    expect(svg).toContain('λ = 0 (anchor)');
    expect(svg).toContain('λ = 0.3');
    expect(svg).toContain('U and G · class 1');
    expect(svg.match(/clip-path="url/g)).toHaveLength(5);
    // 100 points in each λ panel, 50 start rings in each class's field panel.
    expect(svg.match(/<circle /g)!.length).toBeGreaterThanOrEqual(3 * 100 + 100);
    expect(svg).toContain('shape-rendering="crispEdges"');
    const noField = modelFigureSvg(model, { lambdas: [0.5], n: 20, field: false });
    expect(noField.match(/clip-path="url/g)).toHaveLength(1);
    expect(pngSize(svgToPng(noField)).width).toBe(340);
  });

  test('continuous model with D = 3: chosen dims, colour bar, no field panels', () => {
    const model = circleModel({ dim: 3, categorical: false, cond: 2 });
    const svg = modelFigureSvg(model, { dims: [0, 2], colorBy: 1, n: 50 });
    expect(svg).toContain('>y2<');
    expect(svg).toContain('x1: ');
    expect(svg).not.toContain('U and G');
  });

  test('given starting rows are the ones plotted', () => {
    const model = circleModel();
    const rows = Float32Array.from([1, 0, 0, 0, 1.5, 1]);
    const svg = modelFigureSvg(model, { lambdas: [1], rows, field: false });
    expect(svg.match(/<circle [^>]* r="2"/g)).toHaveLength(2); // legend dots are larger
    expect(svg).toContain('2 samples');
  });

  test('bad requests are one clear error each', () => {
    const model = circleModel();
    expect(() => modelFigureSvg(model, { lambdas: [2] })).toThrow(/outside the model's range/);
    expect(() => modelFigureSvg(model, { lambdas: [] })).toThrow(/at least one λ/);
    expect(() => modelFigureSvg(model, { dims: [0, 2] })).toThrow(/dimension 2 is not one of this model's outputs 0..1/);
    expect(() => modelFigureSvg(model, { dims: [1, 1] })).toThrow(/must differ/);
    expect(() => modelFigureSvg(model, { rows: Float32Array.from([1, 0]) })).toThrow(/rows must have 3 columns/);
    expect(() => modelFigureSvg(circleModel({ categorical: false, cond: 2 }), { colorBy: 5 })).toThrow(/colour column 5/);
  });
});
