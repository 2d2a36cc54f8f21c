import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { IoErrorCode } from '../../src/shared/io/io-error-codes.js';
import {
  expandDirectoryList,
  isBackupFileName,
  listBackupDirectory,
  listBackupFiles,
  readFileChunks,
} from '../../src/shared/io/local-files.js';
import {
  collect,
  expectAsrestoreError,
  expectDisjointChunks,
  expectThrowsAsrestoreError,
  makeTempDir,
  openFdCount,
  sampleAsbText,
} from './helpers.js';

describe('io/local-files', () => {
  let temp: ReturnType<typeof makeTempDir>;

  beforeEach(() => {
    temp = makeTempDir();
  });
  afterEach(() => temp.cleanup());

  describe('listing', () => {
    it('keeps regular *.asb files only, sorted by name, with sizes', async () => {
      const dir = temp.dir;
      writeFileSync(join(dir, 'test_00002.asb'), 'x'.repeat(30));
      writeFileSync(join(dir, 'test_00000.asb'), 'x'.repeat(10));
      writeFileSync(join(dir, 'test_00001.asb'), 'x'.repeat(20));
      writeFileSync(join(dir, 'B.asb'), 'x'); // upper case sorts first in byte order
      writeFileSync(join(dir, 'upper.ASB'), 'x'); // case-sensitive extension
      writeFileSync(join(dir, '.asb'), 'x'); // the bare extension is not a backup file (C: length > 4)
      writeFileSync(join(dir, 'test.asb.bak'), 'x');
      writeFileSync(join(dir, 'notes.txt'), 'x');
      mkdirSync(join(dir, 'nested'));
      writeFileSync(join(dir, 'nested', 'deep.asb'), 'x'); // not recursive
      mkdirSync(join(dir, 'dir.asb')); // a directory with a backup name is left out
      symlinkSync(join(dir, 'test_00000.asb'), join(dir, 'link.asb')); // symlinks are followed
      const listing = await listBackupDirectory(dir);
      expect(listing.files.map((f) => f.path)).to.deep.equal(
        ['B.asb', 'link.asb', 'test_00000.asb', 'test_00001.asb', 'test_00002.asb'].map((name) => `${dir}/${name}`),
      );
      expect(listing.files.map((f) => f.size)).to.deep.equal([1, 10, 10, 20, 30]);
      expect(listing.totalBytes).to.equal(71);
      expect(listing.ignored).to.deep.equal([`${dir}/dir.asb`]);
    });

    it('names the files "<dir>/<name>" as given, like C', async () => {
      writeFileSync(join(temp.dir, 'a.asb'), 'x');
      const listing = await listBackupDirectory(`${temp.dir}/`);
      expect(listing.files[0]!.path).to.equal(`${temp.dir}//a.asb`);
    });

    it('an empty directory lists nothing; listBackupFiles then says "No backup files found"', async () => {
      writeFileSync(join(temp.dir, 'other.txt'), 'x');
      expect((await listBackupDirectory(temp.dir)).files).to.deep.equal([]);
      await expectAsrestoreError(listBackupFiles([temp.dir]), IoErrorCode.NO_BACKUP_FILES, 'No backup files found');
    });

    it('listBackupFiles calls its hooks per directory, in order, before a later directory can fail', async () => {
      const first = join(temp.dir, 'one');
      const second = join(temp.dir, 'two');
      mkdirSync(first);
      mkdirSync(second);
      writeFileSync(join(first, 'a.asb'), 'xy');
      const events: string[] = [];
      const hooks = {
        beforeListing: (directory: string) => events.push(`before ${directory}`),
        listed: (listing: { directory: string; files: unknown[] }) => events.push(`listed ${listing.directory} ${listing.files.length}`),
      };
      const set = await listBackupFiles([first, second], hooks);
      expect(events).to.deep.equal([`before ${first}`, `listed ${first} 1`, `before ${second}`, `listed ${second} 0`]);
      expect([set.files.length, set.totalBytes]).to.deep.equal([1, 2]);

      events.length = 0;
      const missing = join(temp.dir, 'missing');
      await expectAsrestoreError(listBackupFiles([first, missing], hooks), IoErrorCode.DIRECTORY_NOT_FOUND, 'does not exist');
      expect(events).to.deep.equal([`before ${first}`, `listed ${first} 1`, `before ${missing}`]);

      // Throwing from beforeListing stops before that directory is read.
      events.length = 0;
      const refusing = {
        beforeListing: (directory: string) => {
          if (directory === second) throw new Error('refused');
          events.push(`before ${directory}`);
        },
      };
      let refused: unknown;
      await listBackupFiles([first, second], refusing).catch((error: unknown) => (refused = error));
      expect((refused as Error).message).to.equal('refused');
      expect(events).to.deep.equal([`before ${first}`]);
    });

    it('reports a missing directory and a file given as a directory', async () => {
      await expectAsrestoreError(
        listBackupDirectory(join(temp.dir, 'missing')),
        IoErrorCode.DIRECTORY_NOT_FOUND,
        `Directory ${join(temp.dir, 'missing')} does not exist`,
      );
      writeFileSync(join(temp.dir, 'file'), 'x');
      await expectAsrestoreError(listBackupDirectory(join(temp.dir, 'file')), IoErrorCode.DIRECTORY_READ_FAILED, 'not a directory');
    });

    it('reports a dangling *.asb symlink (stat fails, as in C)', async () => {
      symlinkSync(join(temp.dir, 'gone'), join(temp.dir, 'dangling.asb'));
      await expectAsrestoreError(listBackupDirectory(temp.dir), IoErrorCode.DIRECTORY_READ_FAILED, 'Failed to get stats of file');
    });

    it('lists --directory-list entries in order under --parent-directory and sums all sizes', async () => {
      for (const [sub, files] of [
        ['one', { 'a.asb': 5, 'b.asb': 6 }],
        ['two', {}],
        ['three', { 'c.asb': 7 }],
      ] as const) {
        mkdirSync(join(temp.dir, sub));
        for (const [name, size] of Object.entries(files)) writeFileSync(join(temp.dir, sub, name), 'y'.repeat(size));
      }
      const directories = expandDirectoryList('one,two,three', temp.dir);
      expect(directories).to.deep.equal([`${temp.dir}/one`, `${temp.dir}/two`, `${temp.dir}/three`]);
      const set = await listBackupFiles(directories);
      expect(set.files.map((f) => f.path)).to.deep.equal([
        `${temp.dir}/one/a.asb`,
        `${temp.dir}/one/b.asb`,
        `${temp.dir}/three/c.asb`,
      ]);
      expect(set.directories.map((d) => d.files.length)).to.deep.equal([2, 0, 1]);
      expect(set.totalBytes).to.equal(18);
      await expectAsrestoreError(listBackupFiles(expandDirectoryList('one,nope', temp.dir)), IoErrorCode.DIRECTORY_NOT_FOUND);
    });

    it('expands --directory-list like C', () => {
      expect(expandDirectoryList('a,b')).to.deep.equal(['a', 'b']);
      expect(expandDirectoryList('a, b', '/p')).to.deep.equal(['/p/a', '/p/ b']); // not trimmed
      expect(expandDirectoryList('a', '/p/')).to.deep.equal(['/p/a']);
      expectThrowsAsrestoreError(() => expandDirectoryList('a,,b'), IoErrorCode.INVALID_DIRECTORY_LIST, 'empty entry');
      expectThrowsAsrestoreError(() => expandDirectoryList('a,'), IoErrorCode.INVALID_DIRECTORY_LIST);
      expectThrowsAsrestoreError(() => expandDirectoryList('a', ''), IoErrorCode.INVALID_DIRECTORY_LIST);
    });

    it('recognises backup file names', () => {
      expect(['x.asb', 'a b.asb', '..asb'].every(isBackupFileName)).to.equal(true);
      expect(['.asb', 'x.ASB', 'x.asb ', 'x.asbx', 'asb'].some(isBackupFileName)).to.equal(false);
    });
  });

  describe('reading', () => {
    it('reads 1 MiB chunks, fresh and full except the last', async () => {
      const data = sampleAsbText(2.5 * 1024 * 1024, 11);
      const path = join(temp.dir, 'big.asb');
      writeFileSync(path, data);
      let counted = 0;
      const chunks = await collect(readFileChunks(path, { onBytes: (n) => (counted += n) }));
      expect(chunks.map((c) => c.length)).to.deep.equal([1048576, 1048576, data.length - 2097152]);
      expectDisjointChunks(chunks);
      // Checked after the whole file was read: a reused buffer would have been overwritten.
      expect(Buffer.concat(chunks).equals(data)).to.equal(true);
      expect(counted).to.equal(data.length);
      // A small file gets one right-sized buffer, not a 1 MiB one.
      writeFileSync(join(temp.dir, 'small.asb'), 'Version 3.1\n');
      const small = await collect(readFileChunks(join(temp.dir, 'small.asb')));
      expect(small).to.have.length(1);
      expect(small[0]!.buffer.byteLength).to.equal(12);
    });

    it('yields nothing for an empty file', async () => {
      writeFileSync(join(temp.dir, 'empty.asb'), '');
      expect(await collect(readFileChunks(join(temp.dir, 'empty.asb')))).to.deep.equal([]);
    });

    it('names the file when it cannot be opened or is a directory', async () => {
      const missing = join(temp.dir, 'missing.asb');
      const error = await expectAsrestoreError(collect(readFileChunks(missing)), IoErrorCode.INPUT_OPEN_FAILED, missing);
      expect(error.file).to.equal(missing);
      expect(error.message).to.include('ENOENT');
      await expectAsrestoreError(collect(readFileChunks(temp.dir)), IoErrorCode.INPUT_OPEN_FAILED, 'is a directory');
    });

    it('closes the file when the consumer stops early', async function () {
      const before = openFdCount();
      if (before === undefined) this.skip();
      const path = join(temp.dir, 'f.asb');
      writeFileSync(path, sampleAsbText(3 * 1024 * 1024));
      for await (const chunk of readFileChunks(path)) {
        expect(chunk.length).to.equal(1048576);
        expect(openFdCount()).to.equal(before! + 1);
        break;
      }
      expect(openFdCount()).to.equal(before);
    });
  });
});
