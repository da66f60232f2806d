exports.handler = async () => 'post';
