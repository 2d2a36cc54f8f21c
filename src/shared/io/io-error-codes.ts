/**
 * Error codes thrown (as AsrestoreError) by the backup input/output layer, so callers can branch on
 * them without matching message text.
 */
export const IoErrorCode = {
  /** A backup file could not be opened (missing, permission denied, ...). */
  INPUT_OPEN_FAILED: 'INPUT_OPEN_FAILED',
  /** Reading a backup file or stdin failed part way. */
  INPUT_READ_FAILED: 'INPUT_READ_FAILED',
  /** The bytes look zstd-compressed but --compress zstd was not given. */
  INPUT_IS_COMPRESSED: 'INPUT_IS_COMPRESSED',
  /** zstd rejected the data (not zstd, wrong key, wrong --encrypt, corruption). */
  ZSTD_DECOMPRESS_FAILED: 'ZSTD_DECOMPRESS_FAILED',
  /** The input ended inside a zstd frame. */
  ZSTD_TRUNCATED: 'ZSTD_TRUNCATED',
  /** An encrypted input is shorter than its 16-byte IV header. */
  ENCRYPTED_INPUT_TOO_SHORT: 'ENCRYPTED_INPUT_TOO_SHORT',
  /** --encryption-key-file could not be read or parsed. */
  ENCRYPTION_KEY_FILE: 'ENCRYPTION_KEY_FILE',
  /** --encryption-key-env names a missing/empty variable or one that is not valid base64. */
  ENCRYPTION_KEY_ENV: 'ENCRYPTION_KEY_ENV',
  /** An AES key of the wrong length was handed to the cipher layer. */
  ENCRYPTION_KEY_LENGTH: 'ENCRYPTION_KEY_LENGTH',
  /** --encrypt / --compress got a value other than aes128|aes256 / zstd. */
  INVALID_ENCRYPTION_TYPE: 'INVALID_ENCRYPTION_TYPE',
  INVALID_COMPRESSION_TYPE: 'INVALID_COMPRESSION_TYPE',
  /** A -d / --directory-list directory does not exist or cannot be listed. */
  DIRECTORY_NOT_FOUND: 'DIRECTORY_NOT_FOUND',
  DIRECTORY_READ_FAILED: 'DIRECTORY_READ_FAILED',
  /** --directory-list has an empty entry. */
  INVALID_DIRECTORY_LIST: 'INVALID_DIRECTORY_LIST',
  /** The directories hold no regular file whose name ends in ".asb". */
  NO_BACKUP_FILES: 'NO_BACKUP_FILES',
  /** `-i -:<bytes>` with a size that is not a number in 0..1024^5. */
  INVALID_STDIN_SIZE: 'INVALID_STDIN_SIZE',
  /** Writing a backup file (generator/tests) failed. */
  OUTPUT_WRITE_FAILED: 'OUTPUT_WRITE_FAILED',
} as const;
export type IoErrorCode = (typeof IoErrorCode)[keyof typeof IoErrorCode];

/**
 * Appended to errors that a wrong --compress/--encrypt option or a wrong key typically causes (a zstd
 * error, a header that is not "Version x.y"). Exported so the .asb decoder can add it to its
 * "Invalid version line" error too.
 */
export const INPUT_OPTIONS_HINT =
  'check that --compress and --encrypt match the options the backup was made with, and that the encryption key is the one used for the backup';
