/** Pictures: SVG panels rendered to PNG (render), and the standard figure of a fitted model (figure). */
export * from './render.js';
export * from './figure.js';
