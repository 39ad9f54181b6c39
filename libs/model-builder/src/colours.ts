/** Colour words the 'colour' tiny models understand, in prototype order. */
export const COLOUR_WORDS = [
  'red',
  'orange',
  'yellow',
  'green',
  'cyan',
  'blue',
  'purple',
  'magenta',
  'pink',
  'brown',
  'white',
  'grey',
  'black',
] as const;

/** One of the colour words. */
export type ColourWord = (typeof COLOUR_WORDS)[number];

/** sRGB 0–255 of each colour word: the image tower's prototypes, and what tests paint images with. */
export const COLOUR_RGB: Record<ColourWord, [number, number, number]> = {
  red: [230, 20, 20],
  orange: [255, 140, 0],
  yellow: [250, 230, 20],
  green: [20, 170, 40],
  cyan: [0, 220, 230],
  blue: [20, 50, 230],
  purple: [120, 30, 170],
  magenta: [240, 20, 210],
  pink: [255, 170, 200],
  brown: [130, 75, 30],
  white: [245, 245, 245],
  grey: [128, 128, 128],
  black: [10, 10, 10],
};

/** Other spellings that map to the same direction in the text tower. */
export const COLOUR_ALIASES: Record<string, ColourWord> = { gray: 'grey', violet: 'purple' };
