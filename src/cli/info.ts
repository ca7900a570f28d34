import type { Command } from 'commander';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('describe a dataset: levels, rows, dimensions, column ranges, class counts')
    .argument('<data>', '.npy or .csv file')
    .action(async () => {
      throw new Error('hti info is not implemented yet');
    });
}
